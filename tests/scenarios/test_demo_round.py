"""The demo round loads on the demo organisation and stops mid-way."""

from __future__ import annotations

from sqlalchemy import select

from rectiflow.db.domain import Notice, Problem
from rectiflow.db.runtime import UserTask
from rectiflow.services.demo.round import load_demo_round


def test_demo_round_is_mid_way(rt, org):
    with rt.sessions.begin() as s:
        rnd = load_demo_round(rt, s)
        rid = rnd.id
    with rt.sessions.begin() as s:
        assert load_demo_round(rt, s).id == rid  # idempotent
    with rt.reads() as s:
        ps = {p.number: p for p in s.scalars(select(Problem).where(Problem.round_id == rid))}
        assert ps["1.1"].status == "rectifying" and ps["1.1"].colour == "none"
        assert (ps["1.2"].status, ps["1.2"].colour, ps["1.2"].red_count) == ("rectifying", "red", 1)
        assert ps["2.1"].status == "in_acceptance"
        waiting = s.scalar(
            select(UserTask).where(UserTask.instance_id == ps["2.1"].instance_id, UserTask.status == "ready")
        )
        assert (waiting.element_id, waiting.role) == ("higher_opinion", "functional_department")
        assert s.scalars(
            select(Notice).where(Notice.kind == "warning_red", Notice.problem_id == ps["1.2"].id)
        ).all()
