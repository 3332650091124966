"""Evidence references are checked at submission (issue 15, hardening): a form's file field names a
stored file the submitter may see, never a digest picked out of the air or another plant's file.
Drafts are bounded in size."""

from __future__ import annotations

import hashlib

import pytest
from scenarios.test_round import EVIDENCE, do, one, open_round, plan_approved, problems

from rectiflow.db.runtime import UserTask
from rectiflow.errors import InvalidInput
from rectiflow.services.files import store_file
from rectiflow.services.workflow import tasks

pytestmark = pytest.mark.usefixtures("deployed")


def _apply_task(rt, org):
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    iid = problems(rt, round_id)["2.1"][1]
    do(rt, org, "a_hr", one(rt, iid, "report"), {"progress": 100, "narrative": "整改完成"})
    return one(rt, iid, "apply")


def _plant_b_file(rt, org):
    from sqlalchemy import select

    from rectiflow.db.org import Unit

    with rt.sessions.begin() as s:
        unit = s.scalar(select(Unit).where(Unit.code == "plant_b_hr"))
        return store_file(s, rt.clock, rt.settings, org["actors"]["b_fin"], "乙厂材料.txt",
                          "乙厂内部材料".encode(), unit.path).sha256


@pytest.mark.parametrize("which", ["never_uploaded", "other_plants"])
def test_an_unusable_evidence_reference_is_a_finding_at_its_field(rt, chain, which):
    org = chain
    apply = _apply_task(rt, org)
    sha = hashlib.sha256(b"never uploaded").hexdigest() if which == "never_uploaded" else _plant_b_file(rt, org)
    data = {"summary": "已整改", "evidence": [EVIDENCE, sha]}
    with rt.sessions.begin() as s, pytest.raises(InvalidInput) as caught:
        tasks.complete_task(s, rt, apply.id, org["actors"]["a_hr"], data)
    assert list(caught.value.errors) == ["evidence[1]"]  # the good file passes, the bad one is named
    assert "不存在或您无权使用" in caught.value.render_errors("zh_CN")["evidence[1]"][0]
    with rt.reads() as s:
        assert s.get(UserTask, apply.id).status == "ready"
    do(rt, org, "a_hr", apply, {"summary": "已整改", "evidence": [EVIDENCE]})  # a usable one goes through


def test_a_draft_is_bounded_in_size(rt, chain):
    org = chain
    apply = _apply_task(rt, org)
    huge = {"summary": "x" * (tasks.DRAFT_MAX_BYTES + 1)}
    with rt.sessions.begin() as s, pytest.raises(InvalidInput):
        tasks.save_draft(s, rt, apply.id, org["actors"]["a_hr"], huge)
    with rt.reads() as s:
        assert s.get(UserTask, apply.id).draft is None
