"""Issue 15, fault 2: opening a round checks where the inspection office role is held, not only that it is.

Before the fix an inspection office of plant B opened a round for plant A (API and web: both go through
``create_round``)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rectiflow.db.domain import Problem, Round
from rectiflow.errors import Forbidden, InvalidInput
from rectiflow.services.accounts import users as us
from rectiflow.services.accounts.actors import load_actor
from rectiflow.services.chain import rounds as chainsvc
from tests.web.test_api_rounds import BODY, PROBLEMS, count_rounds, token

pytestmark = pytest.mark.usefixtures("chain")


def _plant_b_office(rt):
    with rt.sessions.begin() as s:
        us.create_user(s, rt.clock, username="b_office", display_name="乙厂巡察办", password="passw0rd!")
        us.assign(s, rt.clock, "b_office", "inspection_office", "plant_b")
        return load_actor(s, us.user_by_name(s, "b_office").id)


def _counts(rt):
    with rt.reads() as s:
        return s.scalar(select(func.count(Round.id))), s.scalar(select(func.count(Problem.id)))


def test_plant_b_office_cannot_open_a_round_for_plant_a_through_the_service(rt):
    b_office = _plant_b_office(rt)
    with pytest.raises(Forbidden), rt.sessions.begin() as s:
        chainsvc.create_round(s, rt, actor=b_office, unit_code="plant_a", year=2025, number=1, title="越权轮次",
                              team="乙组", feedback_date="2025-01-31", feedback_text="x", problems=PROBLEMS)
    assert _counts(rt) == (0, 0)


def test_plant_b_office_cannot_open_a_round_for_plant_a_through_the_api(rt, client):
    _plant_b_office(rt)
    h = token(client, "b_office")
    resp = client.post("/api/v1/rounds", json=BODY, headers=h)
    assert resp.status_code == 403, resp.get_json()
    assert count_rounds(rt) == 0
    # Its own plant is fine: the role is honoured where it is held.
    own = [{**p, "department_code": p["department_code"].replace("plant_a", "plant_b")} for p in PROBLEMS]
    for p in own:
        p.pop("functional_department_code", None)
    resp = client.post("/api/v1/rounds", json={**BODY, "unit": "plant_b", "problems": own}, headers=h)
    assert resp.status_code == 201, resp.get_json()
    assert count_rounds(rt) == 1


def test_the_group_office_still_opens_rounds_for_any_plant(rt, client):
    resp = client.post("/api/v1/rounds", json=BODY, headers=token(client, "office"))
    assert resp.status_code == 201, resp.get_json()


def test_a_unit_code_that_is_not_text_is_a_422_not_a_500(rt, client):
    resp = client.post("/api/v1/rounds", json={**BODY, "unit": "\ud800"}, headers=token(client, "office"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert count_rounds(rt) == 0
    with pytest.raises(InvalidInput) as caught, rt.sessions.begin() as s:
        chainsvc.create_round(s, rt, actor="system", unit_code="plant\x00a", year=2025, number=1, title="t",
                              team="", feedback_date="2025-01-31", feedback_text="", problems=PROBLEMS)
    assert list(caught.value.errors) == ["unit_code"]
