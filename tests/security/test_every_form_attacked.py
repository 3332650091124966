"""Every form of every process, attacked with every identifier name on the way (issue 15's harness).

The whole-chain scenarios run again with ``complete_task`` wrapped: before each real completion, the
same submission is sent once per identifier name with that extra key, in a savepoint. Each must be
refused with a finding at that key, and leave the task ready and the instance's row version where it
was. At the end of the module, the forms that were attacked must be every form a process in
``processes/`` names (checked per database once every scenario has run on it)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from scenarios import test_escalation, test_extension, test_meetings_reopen, test_reports, test_round
from testsupport import ROOT

from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.errors import InvalidFormData
from rectiflow.services.workflow import tasks

IDENTIFIERS = ("problem_id", "unit_id", "round_id", "instance_id", "measure_id", "supervision_id",
               "completed_by", "unit_path")
SCENARIOS = {
    "round": test_round.test_round_from_feedback_to_last_sign_off,
    "send_back": lambda rt, chain: test_round.test_send_back_at_each_review_step_then_closure(rt, chain, "verify"),
    "extension": test_extension.test_extension_approved_moves_the_deadline_and_rearms_the_warnings,
    "long_term": test_extension.test_long_term_item_stays_open_with_reviews_after_the_round_closes,
    "supervision": test_escalation.test_late_problem_goes_red_supervision_confirmed_acknowledged_then_removed,
    "accountability": test_escalation.test_unit_overdue_twice_triggers_accountability_talk_explanation_outcome,
    "meetings": test_meetings_reopen.test_two_meetings_recorded_at_the_cadence,
    "reports": test_reports.test_late_report_escalates_once_and_can_still_be_submitted,
}
HITS: dict[str, dict[str, set[str]]] = defaultdict(dict)


def _process_forms() -> set[str]:
    keys: set[str] = set()
    for path in (ROOT / "processes").glob("*.bpmn"):
        keys |= set(re.findall(r'name="formKey" value="([^"]+)"', path.read_text("utf-8")))
    return keys


@pytest.fixture(scope="module", autouse=True)
def every_form_was_attacked() -> Iterator[None]:
    yield
    for db, runs in HITS.items():
        if set(runs) == set(SCENARIOS):  # only a complete run can speak for every form
            attacked = set().union(*runs.values())
            assert _process_forms() <= attacked, f"{db}: never attacked {sorted(_process_forms() - attacked)}"


def _hostile(real: Any, hits: set[str]) -> Any:
    def complete(session: Any, rt: Any, task_id: str, actor: Any, data: dict[str, Any], **kw: Any) -> Any:
        task = session.get(UserTask, task_id)
        if task is not None and task.status == "ready":
            version = session.get(ProcessInstance, task.instance_id).version
            for name in IDENTIFIERS:
                with pytest.raises(InvalidFormData) as caught, session.begin_nested():
                    real(session, rt, task_id, actor, {**data, name: 4}, **kw)
                assert name in caught.value.errors, (task.form_key, name, caught.value.errors)
            session.expire_all()
            assert session.get(UserTask, task_id).status == "ready"
            assert session.get(ProcessInstance, task.instance_id).version == version
            hits.add(task.form_key or "")
        return real(session, rt, task_id, actor, data, **kw)
    return complete


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_completion_refuses_identifiers_on_the_way(rt, chain, monkeypatch, database_url, scenario):
    db = "postgres" if database_url.startswith("postgresql") else "sqlite"
    hits: set[str] = set()
    monkeypatch.setattr(tasks, "complete_task", _hostile(tasks.complete_task, hits))
    SCENARIOS[scenario](rt, chain)
    assert hits, "the scenario completed no task through the service"
    HITS[db][scenario] = hits
