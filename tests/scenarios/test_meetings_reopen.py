"""沟通协调 meetings on the round's cadence, each its own short instance; and 回头看: the inspection
office reopens a closed problem, which comes back to the department with its old closure kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rectiflow.db.domain import AcceptanceStep, Meeting, Problem
from rectiflow.db.runtime import ProcessInstance, Timer
from rectiflow.errors import Forbidden
from rectiflow.read import inbox
from rectiflow.services import audit
from rectiflow.services.chain import ledger as chain_ledger
from rectiflow.services.chain import meetings as chain_meetings
from rectiflow.services.chain import reinspection as chain_reinspection
from rectiflow.services.workflow import timers
from scenarios.test_round import (
    beijing_9,
    do,
    one,
    open_round,
    plan_approved,
    problems,
    rectify_and_close,
)


def meeting_instances(rt, round_id):
    with rt.reads() as s:
        rows = s.scalars(select(ProcessInstance).where(ProcessInstance.business_key.startswith(
            f"meeting:{round_id}:")).order_by(ProcessInstance.id))
        return {int(i.business_key.rsplit(":", 1)[1]): (i.id, i.status) for i in rows}


def test_two_meetings_recorded_at_the_cadence(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org, meeting_cadence_days=14)
    plan_approved(rt, org, round_iid)  # rectification starts on 31 January
    first = meeting_instances(rt, round_id)
    assert list(first) == [1]
    with rt.reads() as s:
        [t] = s.scalars(select(Timer).where(Timer.instance_id == first[1][0])).all()
        assert t.due_at.isoformat() == "2025-02-14T01:00:00+00:00"  # 09:00 Beijing, 14 days on
    for no, day in ((1, "2025-02-14"), (2, "2025-02-28")):
        iid = meeting_instances(rt, round_id)[no][0]
        rt.clock.set(beijing_9(day) - timedelta(minutes=1))
        timers.tick(rt)
        with rt.reads() as s:
            assert [r for r in inbox.inbox(s, org["actors"]["a_rect"]) if r.instance_id == iid] == []
        rt.clock.set(beijing_9(day) + timedelta(seconds=1))
        timers.tick(rt)
        task = one(rt, iid, "record_minutes")
        assert task.role == "rectification_office" and f"第 {no} 次" in task.title
        with rt.reads() as s:
            assert task.id in {t.id for t in inbox.inbox(s, org["actors"]["a_rect"])}
            assert task.id not in {t.id for t in inbox.inbox(s, org["actors"]["b_rect"])}
        do(rt, org, "a_rect", task, {"held_on": day, "minutes": f"第{no}次协调会：通报进展", "decisions": "加快进度"})
        assert meeting_instances(rt, round_id)[no][1] == "completed"
    with rt.reads() as s:
        rows = chain_meetings.meetings_of(s, round_id)
        assert [(m.held_on.isoformat(), m.decisions) for m in rows] == [
            ("2025-02-14", "加快进度"), ("2025-02-28", "加快进度")]
        assert s.scalars(select(Meeting)).all() == rows
        nxt = meeting_instances(rt, round_id)[3][0]
        [t] = s.scalars(select(Timer).where(Timer.instance_id == nxt)).all()
        assert t.due_at.isoformat() == "2025-03-14T01:00:00+00:00"


def test_reopen_closed_problem_back_in_the_inbox_with_history_kept(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, old_iid, _ = problems(rt, round_id)["1.1"]
    rectify_and_close(rt, org, old_iid, "a_fin")
    with rt.reads() as s:
        closed_at = s.get(Problem, pid).closed_at
        assert closed_at is not None
    with rt.sessions.begin() as s, pytest.raises(Forbidden):
        chain_reinspection.reopen_problem(s, rt, pid, org["actors"]["a_rect"], "回头看发现反弹")
    rt.clock.set(rt.clock.now() + timedelta(days=60))
    with rt.sessions.begin() as s:
        inst = chain_reinspection.reopen_problem(s, rt, pid, org["actors"]["office"], "回头看发现问题反弹",
                                       deadline="2025-05-31")
        new_iid = inst.id
    assert new_iid != old_iid
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert (p.status, p.instance_id, p.deadline.isoformat(), p.closed_at) == (
            "rectifying", new_iid, "2025-05-31", None)
        assert s.get(ProcessInstance, old_iid).status == "completed"
        task = [t for t in inbox.inbox(s, org["actors"]["a_fin"]) if t.instance_id == new_iid]
        assert [t.element_id for t in task] == ["report"] and task[0].context["problem_id"] == pid
        assert task[0].due_at.isoformat() == "2025-05-31T16:00:00+00:00"
        # the old closure is still in the history
        history = chain_ledger.acceptance_history(s, pid)
        assert [h["step"] for h in history][-1] == "sign_off"
        [ev] = [e for e in audit.timeline(s, object_type="problem", object_id=str(pid))
                if e.action == "problem.reopened"]
        assert ev.payload["reason"] == "回头看发现问题反弹" and ev.payload["previous"]["closed_at"]
        assert ev.payload["previous"]["instance_id"] == old_iid
    # closing it again takes a whole new acceptance attempt
    rectify_and_close(rt, org, new_iid, "a_fin")
    with rt.reads() as s:
        assert s.get(Problem, pid).status == "closed"
        attempts = {a.attempt for a in s.scalars(select(AcceptanceStep).where(AcceptanceStep.problem_id == pid))}
        assert attempts == {1, 2}
