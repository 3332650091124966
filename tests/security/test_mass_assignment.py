"""A completion sets only the fields of its task's form (issue 15, fault 1: mass assignment).

Before the fix, ``POST /api/v1/tasks/{id}/complete`` merged the whole ``data`` object into the
workflow: ``problem_id`` pointed a plant A department's progress report at plant B's problem and
``unit_id`` moved the next task into another plant's inbox."""

from __future__ import annotations

import copy
import json

import pytest
from scenarios.test_round import PROBLEMS, one, open_round, plan_approved, problems
from sqlalchemy import func, select
from testsupport import ROOT

from rectiflow import forms as formlib
from rectiflow.db.domain import Measure, Notice, Problem, ProgressUpdate
from rectiflow.db.runtime import UserTask
from rectiflow.errors import DefinitionError, InvalidFormData
from rectiflow.services.chain import rounds as chainsvc
from rectiflow.services.workflow import tasks

pytestmark = pytest.mark.usefixtures("deployed")

IDENTIFIERS = ("problem_id", "unit_id", "round_id", "instance_id", "supervision_id", "measure_id",
               "completed_by", "completed_by_name", "unit_path", "assignee")
FORM_FILES = sorted((ROOT / "forms").glob("*.json"))


def _token(client, username):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": "passw0rd!"})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def _plant_b_round(rt, org):
    plant_b = [{**p, "department_code": p["department_code"].replace("plant_a", "plant_b")} for p in PROBLEMS]
    for p in plant_b:
        p.pop("functional_department_code", None)
    with rt.sessions.begin() as s:
        rnd = chainsvc.create_round(s, rt, actor=org["actors"]["office"], unit_code="plant_b", year=2025, number=1,
                                    title="乙厂巡察", team="第二巡察组", feedback_date="2025-01-31",
                                    feedback_text="反馈意见全文", problems=plant_b)
        return rnd.id


def _report_task(rt, org):
    """Plant A's round with its plan approved: the finance department's progress report on 1.2."""
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    return one(rt, problems(rt, round_id)["1.2"][1], "report")


def _report_and_plant_b(rt, org):
    """The report task above, and the id of plant B's problem 1.2 (the attack's target)."""
    report = _report_task(rt, org)
    return report, problems(rt, _plant_b_round(rt, org))["1.2"][0]


def _snapshot(rt, problem_id):
    """What the attack changed on plant B: the problem, its progress updates, anybody's notices."""
    with rt.reads() as s:
        p = s.get(Problem, problem_id)
        updates = s.scalar(select(func.count()).select_from(ProgressUpdate).join(Measure)
                           .where(Measure.problem_id == problem_id))
        notices = s.scalar(select(func.count()).select_from(Notice))
        return p.status, p.colour, p.instance_id, updates, notices


@pytest.mark.parametrize("extra", ["problem_id", "unit_id", "round_id", "completed_by"])
def test_api_completion_cannot_point_the_workflow_elsewhere(rt, chain, client, extra):
    org = chain
    report, b_pid = _report_and_plant_b(rt, org)
    before = _snapshot(rt, b_pid)

    data = {"progress": 60, "narrative": "整改推进中", extra: b_pid if extra != "unit_id" else org["units"]["plant_b"]}
    resp = client.post(f"/api/v1/tasks/{report.id}/complete", json={"data": data}, headers=_token(client, "a_fin"))

    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["errors"]
    assert list(errors) == [extra] and extra in errors[extra][0]  # the finding names the key
    assert _snapshot(rt, b_pid) == before  # plant B's problem is untouched, nobody was notified
    with rt.reads() as s:
        assert s.get(UserTask, report.id).status == "ready"  # nothing was written on plant A either

    del data[extra]
    resp = client.post(f"/api/v1/tasks/{report.id}/complete", json={"data": data}, headers=_token(client, "a_fin"))
    assert resp.status_code == 200, resp.get_json()
    assert _snapshot(rt, b_pid) == before


def test_web_completion_ignores_fields_the_form_does_not_render(rt, chain, client):
    """The HTML form is coerced from the schema, so a smuggled input never reaches the service."""
    from tests.web.conftest import login, post

    org = chain
    report, b_pid = _report_and_plant_b(rt, org)
    before = _snapshot(rt, b_pid)
    login(client, "a_fin")
    resp = post(client, f"/tasks/{report.id}", {"_action": "complete", "action": "report", "progress": "60",
                                                  "narrative": "整改推进中", "problem_id": str(b_pid)})
    assert resp.status_code == 302
    assert _snapshot(rt, b_pid) == before


def test_drafts_hold_only_the_forms_fields(rt, chain, client):
    org = chain
    report = _report_task(rt, org)
    with rt.sessions.begin() as s, pytest.raises(InvalidFormData) as caught:
        tasks.save_draft(s, rt, report.id, org["actors"]["a_fin"], {"narrative": "半成品", "unit_id": 4})
    assert list(caught.value.errors) == ["unit_id"]
    with rt.reads() as s:
        assert s.get(UserTask, report.id).draft is None
    with rt.sessions.begin() as s:
        tasks.save_draft(s, rt, report.id, org["actors"]["a_fin"], {"narrative": "半成品"})
    with rt.reads() as s:
        assert s.get(UserTask, report.id).draft == {"narrative": "半成品"}


def test_nested_rows_refuse_unknown_keys_too(rt, chain):
    org = chain
    report = _report_task(rt, org)
    data = {"progress": 60, "narrative": "x", "measures": [{"text": "m", "progress": 10, "problem_id": 1}]}
    with rt.sessions.begin() as s, pytest.raises(InvalidFormData) as caught:
        tasks.complete_task(s, rt, report.id, org["actors"]["a_fin"], data)
    assert list(caught.value.errors) == ["measures[0].problem_id"]


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_every_form_refuses_every_identifier(path):
    form = formlib.load_form(json.loads(path.read_text("utf-8")), path.stem)
    for name in IDENTIFIERS:
        errors = formlib.validate_submission(form, {name: 1}, "en")
        assert name in errors and errors[name] == [f"The form has no field '{name}'"], (path.stem, name)
        assert formlib.unknown_fields(form, {name: 1}) == {name: [f"表单中没有字段“{name}”"]}


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_every_form_is_closed_and_declares_no_identifier(path):
    schema = json.loads(path.read_text("utf-8"))["schema"]

    def objects(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for v in node.values():
                yield from objects(v)
        elif isinstance(node, list):
            for v in node:
                yield from objects(v)

    for obj in objects(schema):
        assert obj["additionalProperties"] is False
        assert not any(formlib.reserved_field(n) for n in obj["properties"])


def test_deploy_refuses_an_open_form_and_an_identifier_field():
    base = json.loads((ROOT / "forms" / "plan_review.json").read_text("utf-8"))
    open_form = copy.deepcopy(base)
    del open_form["schema"]["additionalProperties"]
    with pytest.raises(DefinitionError) as caught:
        formlib.load_form(open_form, "plan_review")
    assert [f["element"] for f in caught.value.findings] == ["/additionalProperties"]

    with_id = copy.deepcopy(base)
    with_id["schema"]["properties"]["problem_id"] = {"type": "integer", "title": "问题"}
    with pytest.raises(DefinitionError) as caught:
        formlib.load_form(with_id, "plan_review")
    assert [f["element"] for f in caught.value.findings] == ["/properties/problem_id"]
    assert "rename" in caught.value.findings[0]["problem"]


def test_readonly_fields_are_never_taken_from_a_submission():
    form = formlib.load_form({"schema": {
        "type": "object", "additionalProperties": False,
        "properties": {"shown": {"type": "string", "title": "展示", "readOnly": True},
                       "rows": {"type": "array", "title": "行", "items": {
                           "type": "object", "additionalProperties": False,
                           "properties": {"fixed": {"type": "string", "title": "固定", "readOnly": True},
                                          "text": {"type": "string", "title": "内容"}}}},
                       "note": {"type": "string", "title": "说明"}}}}, "ro")
    data = {"shown": "forged", "note": "ok", "rows": [{"fixed": "forged", "text": "t"}]}
    assert formlib.validate_submission(form, data) == {}
    assert formlib.drop_readonly(form, data) == {"note": "ok", "rows": [{"text": "t"}]}


def test_a_task_without_a_form_takes_no_data():
    assert formlib.unknown_fields(None, {}) == {}
    assert formlib.unknown_fields(None, {"unit_id": 4}, "en") == {
        "unit_id": ["This task has no form; 'unit_id' cannot be set"]}
