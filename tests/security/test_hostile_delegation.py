"""Issue 15, fault 11: delegation and reassignment outside the unit, and segregation of duties.

A task may go only to an account holding its role for its unit, and never to anyone who acted earlier
in the same problem's chain as applicant, author or subject. One rule in the core
(``tasks.delegation_candidates``), used by the check and by the task page's list; tested at every
review step of the acceptance chain and at the review of a statutory report."""

from __future__ import annotations

import re

import pytest
from scenarios.test_reports import REMINDER_3M
from scenarios.test_round import EVIDENCE, STEPS, do, one, open_round, plan_approved, problems

from rectiflow.db.runtime import UserTask
from rectiflow.errors import Conflict
from rectiflow.services.accounts import users as us
from rectiflow.services.workflow import tasks, timers
from tests.web.conftest import login

# Each review step: its role and the unit where the scenario's reviewer holds it.
REVIEWERS = {"verify": ("rectification_office", "plant_a"), "higher_opinion": ("functional_department", "group"),
             "decision_meeting": ("party_committee", "plant_a"), "sign_off": ("leading_group", "group")}


def _people(rt, role, unit):
    """A colleague with the step's role in its unit, an outsider holding it in plant B only, and the
    applicant (a_fin, who reported and applied) given the reviewing role too."""
    with rt.sessions.begin() as s:
        for name in ("colleague", "outsider"):
            us.create_user(s, rt.clock, username=name, display_name=name, password="passw0rd!")
        us.assign(s, rt.clock, "colleague", role, unit)
        us.assign(s, rt.clock, "outsider", role, "plant_b")
        us.assign(s, rt.clock, "a_fin", role, unit)
        return {n: us.user_by_name(s, n).id for n in ("colleague", "outsider", "a_fin", "a_hr")}


def _to_step(rt, org, step):
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    iid = problems(rt, round_id)["1.1"][1]
    do(rt, org, "a_fin", one(rt, iid, "report"), {"progress": 100, "narrative": "整改完成"})
    do(rt, org, "a_fin", one(rt, iid, "apply"), {"summary": "已整改", "evidence": [EVIDENCE]})
    for name, who, data in STEPS:
        if name == step:
            return one(rt, iid, step), who
        do(rt, org, who, one(rt, iid, name), data)
    raise AssertionError(step)


def _token(client, username):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": "passw0rd!"})
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def _options(page: str, select_id: str) -> set[int]:
    block = re.search(rf'<select id="{select_id}".*?</select>', page, re.S)
    return {int(v) for v in re.findall(r'<option value="(\d+)"', block.group(0))} if block else set()


@pytest.mark.parametrize("step", list(REVIEWERS))
def test_every_acceptance_review_goes_only_to_an_uninvolved_holder_in_scope(rt, chain, client, step):
    org = chain
    task, holder = _to_step(rt, org, step)
    ids = _people(rt, *REVIEWERS[step])
    with rt.reads() as s:
        allowed = {u.id for u in tasks.delegation_candidates(s, s.get(UserTask, task.id))}
    assert ids["colleague"] in allowed
    assert not allowed & {ids["outsider"], ids["a_fin"], ids["a_hr"]}

    login(client, holder)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert _options(page, "delegate-user") == allowed - {org["actors"][holder].user_id}

    h = _token(client, holder)
    for who in ("outsider", "a_fin", "a_hr"):  # another plant, the applicant, another role
        resp = client.post(f"/api/v1/tasks/{task.id}/delegate", json={"user_id": ids[who]}, headers=h)
        assert resp.status_code == 409, (who, resp.get_json())
    with rt.reads() as s:
        assert s.get(UserTask, task.id).assignee_id is None
    resp = client.post(f"/api/v1/tasks/{task.id}/delegate", json={"user_id": ids["colleague"]}, headers=h)
    assert resp.status_code == 200, resp.get_json()
    with rt.reads() as s:
        assert s.get(UserTask, task.id).assignee_id == ids["colleague"]


def test_reassignment_follows_the_same_rule(rt, chain):
    org = chain
    task, _ = _to_step(rt, org, "verify")
    ids = _people(rt, "rectification_office", "plant_a")
    for who, message in (("a_fin", "acted earlier"), ("outsider", "does not hold")):
        with pytest.raises(Conflict, match=message), rt.sessions.begin() as s:
            tasks.reassign(s, rt, task.id, org["actors"]["office"], ids[who])
    with rt.sessions.begin() as s:
        tasks.reassign(s, rt, task.id, org["actors"]["office"], ids["colleague"], note="轮岗")


def test_the_review_of_a_statutory_report_never_goes_to_its_author(rt, chain):
    from rectiflow.services.accounts.actors import load_actor

    org = chain
    _, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    rt.clock.set(REMINDER_3M)  # the three-month report falls due
    timers.tick(rt)
    submit = one(rt, round_iid, "submit_3m")
    do(rt, org, "a_pc", submit, submit.draft)  # the party committee submits the drafted reports
    review = one(rt, round_iid, "review_3m")
    with rt.sessions.begin() as s:  # the report's author also holds the reviewing role
        us.assign(s, rt.clock, "a_pc", review.role, "group")
        us.create_user(s, rt.clock, username="office2", display_name="office2", password="passw0rd!")
        us.assign(s, rt.clock, "office2", review.role, "group")
        author, office2 = us.user_by_name(s, "a_pc").id, us.user_by_name(s, "office2").id
    with rt.reads() as s:
        allowed = {u.id for u in tasks.delegation_candidates(s, s.get(UserTask, review.id))}
        holder = load_actor(s, org["actors"]["office"].user_id)
    assert office2 in allowed and author not in allowed
    with pytest.raises(Conflict, match="acted earlier"), rt.sessions.begin() as s:
        tasks.delegate(s, rt, review.id, holder, author)
    with rt.sessions.begin() as s:
        tasks.delegate(s, rt, review.id, holder, office2)
