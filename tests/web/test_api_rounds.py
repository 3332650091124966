"""/api/v1/rounds: open a round (201, 422 per row, 403), list the visible ones, one round (404 out of scope)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from testsupport import ROOT

from rectiflow.db.domain import Problem, Round
from rectiflow.services.chain import rounds as chain
from rectiflow.services.workflow.definitions import Sources, deploy

PROBLEMS = [
    {"number": "1.1", "aspect": "落实全面从严治党", "category": "2.1", "domain_tag": "中央八项规定",
     "feedback_text": "公务接待超标准", "department_code": "plant_a_finance",
     "functional_department_code": "group_finance"},
    {"number": "1.2", "category": "5.3", "feedback_text": "资金审批不规范", "department_code": "plant_a_finance"},
    {"number": "2.1", "aspect": "组织路线", "category": "3.1", "feedback_text": "干部选拔程序不严",
     "department_code": "plant_a_hr"},
]
BODY = {"unit": "plant_a", "year": 2025, "number": 1, "title": "2025年第一轮巡察", "team": "第一巡察组",
        "feedback_date": "2025-01-31", "feedback_text": "反馈意见全文", "schedule_preset": "enterprise",
        "problems": PROBLEMS}


@pytest.fixture
def rounds_org(rt: Any, org: dict[str, Any]) -> dict[str, Any]:
    from rectiflow.services.accounts import users as us

    with rt.sessions.begin() as s:
        deploy(s, rt, Sources.from_dirs(ROOT / "processes", ROOT / "forms"), actor="test")
        us.create_unit(s, rt.clock, code="group_finance", name="集团财务部", kind="department", parent_code="group")
    return org


def token(client, username, password="passw0rd!"):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def count_rounds(rt) -> int:
    with rt.reads() as s:
        return s.scalar(select(func.count(Round.id)))


def test_office_opens_a_round_and_reads_it_back(rt, rounds_org, client):
    h = token(client, "office")
    resp = client.post("/api/v1/rounds", json=BODY, headers=h)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert set(created) == {"id", "instance_id"} and created["instance_id"]
    with rt.reads() as s:
        rnd = s.get(Round, created["id"])
        assert rnd.title == "2025年第一轮巡察" and rnd.instance_id == created["instance_id"]
        assert s.scalar(select(func.count(Problem.id)).where(Problem.round_id == rnd.id)) == 3
    with rt.sessions.begin() as s:  # the round process schedules the reports once the plan is in
        chain.schedule_reports(s, created["id"])
    listed = client.get("/api/v1/rounds", headers=h).get_json()
    assert [r["id"] for r in listed] == [created["id"]] and listed[0]["unit_code"] == "plant_a"
    detail = client.get(f"/api/v1/rounds/{created['id']}", headers=h).get_json()
    assert detail["title"] == "2025年第一轮巡察" and detail["feedback_date"] == "2025-01-31"
    assert [p["number"] for p in detail["problems"]] == ["1.1", "1.2", "2.1"]
    assert detail["milestones"] and {"kind", "due_date", "status"} <= set(detail["milestones"][0])

    # a department sees the round with its own problems only; another plant sees nothing
    fin = token(client, "a_fin")
    assert [r["id"] for r in client.get("/api/v1/rounds", headers=fin).get_json()] == [created["id"]]
    own = client.get(f"/api/v1/rounds/{created['id']}", headers=fin).get_json()
    assert [p["number"] for p in own["problems"]] == ["1.1", "1.2"]
    b = token(client, "b_rect")
    assert client.get("/api/v1/rounds", headers=b).get_json() == []
    assert client.get(f"/api/v1/rounds/{created['id']}", headers=b).status_code == 404
    assert client.get("/api/v1/rounds/99999", headers=h).status_code == 404

    # the same year and number again: 422 on "number"
    again = client.post("/api/v1/rounds", json=BODY, headers=h)
    assert again.status_code == 422 and "number" in again.get_json()["errors"]


def test_row_errors_are_a_422_and_nothing_is_created(rt, rounds_org, client):
    h = token(client, "office")
    rows = [PROBLEMS[0], {**PROBLEMS[1], "number": "1.1", "category": "9.9"},
            {**PROBLEMS[2], "department_code": "plant_b_hr"}]
    resp = client.post("/api/v1/rounds", json={**BODY, "problems": rows}, headers=h)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert "problems[1].number" in errors and "problems[1].category" in errors
    assert "problems[2].department_code" in errors
    resp = client.post("/api/v1/rounds", json={**BODY, "unit": "nowhere", "schedule_preset": "nope"}, headers=h)
    assert resp.status_code == 422 and {"unit_code", "schedule_preset"} <= set(resp.get_json()["errors"])
    # schema errors (missing fields, wrong types) are 422 too, before anything is looked up
    resp = client.post("/api/v1/rounds", json={**BODY, "year": "soon", "problems": [{"number": "1"}]}, headers=h)
    assert resp.status_code == 422 and "year" in str(resp.get_json()["errors"])
    assert count_rounds(rt) == 0


def test_only_the_inspection_office_may_open_a_round(rt, rounds_org, client):
    for who in ("a_rect", "admin", "leader"):
        resp = client.post("/api/v1/rounds", json=BODY, headers=token(client, who))
        assert resp.status_code == 403, who
    assert client.post("/api/v1/rounds", json=BODY).status_code == 401
    assert client.get("/api/v1/rounds").status_code == 401
    assert count_rounds(rt) == 0
