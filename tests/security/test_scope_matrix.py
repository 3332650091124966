"""A scope matrix over every route of the app (issue 15's harness), generated from the URL map.

Two plants each hold a round with problems, instances and tasks. Every rule whose arguments name a
record (task, instance, problem, round) is requested with the *other* plant's record, as a unit office
and a department of each plant, for every method the rule takes: never a 2xx or 3xx, never a 5xx.
The same rules with the account's own records answer without a 5xx. A rule with an argument the
matrix cannot fill must be listed in ``NOT_RECORD_SCOPED`` with the reason, so that a new route cannot
escape the matrix unnoticed."""

from __future__ import annotations

from typing import Any

import pytest
from scenarios.test_round import PROBLEMS, open_round, plan_approved, problems
from sqlalchemy import select

from rectiflow.db.runtime import ProcessInstance, UserTask
from tests.web.conftest import csrf_token, login
from webapp import create_app

RECORD_ARGS = {"task_id", "instance_id", "problem_id", "round_id"}
# Arguments that are not records of a plant: who may use these rules is a role question (admin,
# designer), answered by their own tests; the matrix still calls them for 5xx below.
NOT_RECORD_SCOPED = {
    "filename": "static files",
    "key": "process definitions and forms (designer role)",
    "name": "DMN tables (designer role)",
    "definition_id": "definition versions (designer role)",
    "username": "user administration (admin role)",
    "code": "unit administration (admin role)",
    "delivery_id": "notification deliveries (admin role)",
    "incident_id": "incidents (admin role)",
    "notice_id": "a notice is addressed to one user: checked against the recipient",
    "sha": "evidence files: checked against file grants (tests/web, test_files)",
    "lead_id": "a lead inside a round: the round id comes first and is scoped",
}
ACCOUNTS = {"plant_a": ("a_rect", "a_fin"), "plant_b": ("b_rect", "b_fin")}


def _records(rt: Any, round_id: int) -> dict[str, list[Any]]:
    with rt.reads() as s:
        pids = [pid for pid, _iid, _st in problems(rt, round_id).values()]
        iids = [iid for _pid, iid, _st in problems(rt, round_id).values() if iid]
        from rectiflow.db.domain import Round

        iids.append(s.get(Round, round_id).instance_id)
        tids = list(s.scalars(select(UserTask.id).where(UserTask.instance_id.in_(iids))))
        assert s.scalar(select(ProcessInstance.id).where(ProcessInstance.id.in_(iids)).limit(1))
    return {"round_id": [round_id], "problem_id": pids, "instance_id": iids, "task_id": tids}


@pytest.fixture
def two_plants(rt: Any, chain: Any) -> dict[str, dict[str, list[Any]]]:
    org = chain
    a_round, a_iid = open_round(rt, org)
    plan_approved(rt, org, a_iid)
    plant_b = [{**p, "department_code": p["department_code"].replace("plant_a", "plant_b")} for p in PROBLEMS]
    for p in plant_b:
        p.pop("functional_department_code", None)
    b_round, _ = _open_plant_b(rt, org, plant_b)
    return {"plant_a": _records(rt, a_round), "plant_b": _records(rt, b_round)}


def _open_plant_b(rt: Any, org: Any, problem_list: list[dict[str, Any]]) -> tuple[int, int]:
    from rectiflow.services.chain import rounds

    with rt.sessions.begin() as s:
        rnd = rounds.create_round(s, rt, actor=org["actors"]["office"], unit_code="plant_b", year=2025, number=1,
                                  title="乙厂巡察", team="第二巡察组", feedback_date="2025-01-31",
                                  feedback_text="反馈意见全文", problems=problem_list)
        return rnd.id, rnd.instance_id


def _rules(app: Any) -> list[Any]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _url(rule: Any, values: dict[str, Any]) -> str:
    return rule.build(values, append_unknown=False)[1]


def _call(client: Any, method: str, url: str, api_token: str | None) -> int:
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {api_token}"}
        return client.open(url, method=method, json={} if method == "POST" else None, headers=headers).status_code
    data = {"csrf_token": csrf_token(client, "/")} if method == "POST" else None
    return client.open(url, method=method, data=data).status_code


def test_no_route_serves_another_plants_records(rt, two_plants):
    app = create_app(rt, testing=True)
    app.config["WTF_CSRF_ENABLED"] = True
    unfilled = sorted({a for r in _rules(app) for a in r.arguments} - RECORD_ARGS - set(NOT_RECORD_SCOPED))
    assert unfilled == [], f"routes with arguments the matrix does not know: {unfilled}"
    leaks, errors, checked = [], [], 0
    for plant, accounts in ACCOUNTS.items():
        other = two_plants["plant_b" if plant == "plant_a" else "plant_a"]
        for username in accounts:
            client = app.test_client()
            login(client, username)
            token = client.post("/api/v1/auth/token", json={"username": username, "password": "passw0rd!"}) \
                .get_json()["token"]
            for rule in _rules(app):
                if not rule.arguments or not rule.arguments <= RECORD_ARGS:
                    continue
                values = {a: other[a][0] for a in rule.arguments}
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    status = _call(client, method, _url(rule, values), token)
                    checked += 1
                    if status < 400:
                        leaks.append((username, method, rule.rule, status))
                    elif status >= 500:
                        errors.append((username, method, rule.rule, status))
    assert checked > 60
    assert leaks == [] and errors == []


def test_own_records_and_every_other_route_answer_without_a_server_error(rt, two_plants):
    app = create_app(rt, testing=True)
    errors = []
    for plant, accounts in ACCOUNTS.items():
        own = two_plants[plant]
        for username in (*accounts, "office", "admin"):
            client = app.test_client()
            login(client, username)
            for rule in _rules(app):
                if "GET" not in rule.methods or not rule.arguments <= RECORD_ARGS:
                    continue
                status = client.get(_url(rule, {a: own[a][0] for a in rule.arguments})).status_code
                if status >= 500:
                    errors.append((username, rule.rule, status))
    assert errors == []
