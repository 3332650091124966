"""挂牌督办 and 问责: proposed when problems go red (or are sent back twice), confirmed by the
inspection office, acknowledged by the principal leader, removed when the problem is closed;
accountability for a unit that stays overdue, through talk, explanation and outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from rectiflow.db.domain import Accountability, Notice, Problem, Supervision
from rectiflow.db.org import User
from rectiflow.db.runtime import ProcessInstance
from rectiflow.errors import Forbidden
from rectiflow.read import ledger as read_ledger
from rectiflow.read.ledger import LedgerFilter
from rectiflow.services.chain import accountability as chain_accountability
from rectiflow.services.chain import supervision as chain_supervision
from rectiflow.services.workflow import tasks, timers
from scenarios.test_round import (
    EVIDENCE,
    STEPS,
    do,
    one,
    open_round,
    plan_approved,
    problems,
    ready,
    rectify_and_close,
)

# "completed" once the removal message reaches the instance; "terminated" while the engine cannot
# deliver messages (see test_removal_message_completes_the_supervision_instance)
FINISHED = ("completed", "terminated")
OVERDUE = datetime.fromisoformat("2025-04-30T16:00:01+00:00")  # the deadline day has ended


def instance_of(rt, key):
    with rt.reads() as s:
        inst = s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == key))
        return (inst.id, inst.status) if inst else (None, None)


def supervisions(rt, pid):
    with rt.reads() as s:
        return s.scalars(select(Supervision).where(Supervision.problem_id == pid).order_by(Supervision.id)).all()


def told(rt, kind, pid=None):
    with rt.reads() as s:
        q = select(Notice).where(Notice.kind == kind)
        if pid is not None:
            q = q.where(Notice.problem_id == pid)
        return {s.get(User, n.recipient_id).username: n for n in s.scalars(q)}


def finish_problem(rt, org, iid, who):
    do(rt, org, who, one(rt, iid, "report"), {"progress": 100, "narrative": "整改完成"})
    do(rt, org, who, one(rt, iid, "apply"), {"summary": "已整改", "evidence": [EVIDENCE]})
    for step, actor, data in STEPS:
        do(rt, org, actor, one(rt, iid, step), data)


def test_late_problem_goes_red_supervision_confirmed_acknowledged_then_removed(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["1.1"]
    rt.clock.set(OVERDUE)
    timers.tick(rt)
    [sup] = supervisions(rt, pid)
    assert (sup.status, sup.decided_by_role) == ("proposed", "")
    assert "office" in told(rt, "supervision", pid)  # the inspection office hears of the proposal
    sid, sstatus = instance_of(rt, f"supervision:{sup.id}")
    confirm = one(rt, sid, "confirm")
    assert confirm.role == "inspection_office" and "红色预警" in confirm.title
    assert not tasks.can_act(confirm, org["actors"]["a_rect"])
    do(rt, org, "office", confirm, {"decision": "confirm", "leader": "a_lead", "hard_deadline": "2025-05-31",
                                    "removal_condition": "问题验收销号"})
    [sup] = supervisions(rt, pid)
    with rt.reads() as s:
        assert (sup.status, sup.decided_by_role, sup.hard_deadline.isoformat()) == (
            "active", "inspection_office", "2025-05-31")
        assert sup.leader_id == s.scalar(select(User.id).where(User.username == "a_lead"))
        assert s.get(Problem, pid).supervised is True
        row = {r["number"]: r
               for r in read_ledger.export_rows(s, org["actors"]["office"], LedgerFilter(round=round_id))}
        assert row["1.1"]["supervised"] is True
    notices = told(rt, "supervision", pid)
    assert {"a_boss", "a_fin", "a_fin2"} <= set(notices) and "b_rect" not in notices
    assert notices["a_boss"].requires_ack and notices["a_boss"].acknowledged_at is None
    ack = one(rt, sid, "acknowledge")
    assert ack.role == "principal_leader"
    assert not tasks.can_act(ack, org["actors"]["a_fin"])
    do(rt, org, "a_boss", ack, {"acknowledged": True, "note": "亲自督办"})
    [sup] = supervisions(rt, pid)
    assert sup.acknowledged_at is not None and told(rt, "supervision", pid)["a_boss"].acknowledged_at is not None
    assert instance_of(rt, f"supervision:{sup.id}")[1] == "running"  # supervised until removal
    finish_problem(rt, org, iid, "a_fin")
    [sup] = supervisions(rt, pid)
    assert (sup.status, sup.removed_at is not None) == ("removed", True)
    sid_status = instance_of(rt, f"supervision:{sup.id}")[1]
    assert sid_status in FINISHED and ready(rt, sid) == []
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert (p.status, p.supervised) == ("closed", False)


def test_sent_back_twice_proposes_supervision_withdrawn_when_closed(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["1.2"]
    rectify_and_close(rt, org, iid, "a_fin2", returns_at=("verify", "decision_meeting"))
    [sup] = supervisions(rt, pid)
    assert "2 次被退回" in sup.reason
    # the problem was closed before the office decided: the proposal is withdrawn, its task too
    assert sup.status == "removed"
    sid, status = instance_of(rt, f"supervision:{sup.id}")
    assert status in FINISHED and ready(rt, sid) == []


def test_discipline_committee_decides_supervision_directly(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["2.1"]
    data = {"leader": "a_lead", "hard_deadline": "2025-03-31",
            "removal_condition": "制度修订并执行", "reason": "群众反映强烈"}
    with rt.sessions.begin() as s, pytest.raises(Forbidden):
        chain_supervision.decide_supervision(s, rt, org["actors"]["a_rect"], pid, data)
    with rt.sessions.begin() as s:
        sup = chain_supervision.decide_supervision(s, rt, org["actors"]["a_jw"], pid, data)
        sup_id = sup.id
    [sup] = supervisions(rt, pid)
    assert (sup.status, sup.decided_by_role) == ("active", "discipline_committee")
    sid, _ = instance_of(rt, f"supervision:{sup_id}")
    assert [t.element_id for t in ready(rt, sid)] == ["acknowledge"]
    finish_problem(rt, org, iid, "a_hr")  # closed before the acknowledgement: removed all the same
    [sup] = supervisions(rt, pid)
    assert sup.status == "removed" and instance_of(rt, f"supervision:{sup_id}")[1] in FINISHED
    assert ready(rt, sid) == []


def test_unit_overdue_twice_triggers_accountability_talk_explanation_outcome(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    with rt.reads() as s:
        assert s.scalars(select(Accountability)).all() == []
    rt.clock.set(OVERDUE)  # all three problems of plant A go red
    timers.tick(rt)
    with rt.reads() as s:
        [acc] = s.scalars(select(Accountability)).all()
        assert (acc.trigger, acc.status, acc.round_id) == ("repeatedly_overdue", "open", round_id)
        assert chain_accountability.red_events(s, round_id) == 3
    aid, _ = instance_of(rt, f"accountability:{acc.id}")
    assert {"a_boss", "a_jw"} <= set(told(rt, "admonition"))
    talk = one(rt, aid, "talk")
    assert talk.role == "discipline_committee"
    do(rt, org, "a_jw", talk, {"talk_date": "2025-05-06", "participants": "纪委书记、主要负责人",
                              "record": "指出整改滞后问题，提出限期要求"})
    explain = one(rt, aid, "explain")
    assert explain.role == "principal_leader" and not tasks.can_act(explain, org["actors"]["a_jw"])
    do(rt, org, "a_boss", explain, {"explanation": "人员调整导致滞后，已落实专人负责"})
    do(rt, org, "a_jw", one(rt, aid, "decide_outcome"), {"outcome": "talk", "note": "约谈并责令整改"})
    with rt.reads() as s:
        acc = s.get(Accountability, acc.id)
        assert (acc.status, acc.outcome) == ("closed", "talk")
        assert "2025-05-06" in acc.talk_record and "纪委书记" in acc.talk_record
        assert acc.explanation.startswith("人员调整")
        [assessed] = chain_accountability.for_assessment(s, acc.unit_id, 2025)
        assert (assessed["outcome"], assessed["outcome_label"]) == ("talk", "约谈")
    assert instance_of(rt, f"accountability:{acc.id}")[1] == "completed"
    rt.clock.set(OVERDUE + timedelta(days=1))  # more red warnings do not open a second case
    timers.tick(rt)
    with rt.reads() as s:
        assert len(s.scalars(select(Accountability)).all()) == 1


def test_accountability_started_by_hand_only_by_the_discipline_committee(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    with rt.sessions.begin() as s, pytest.raises(Forbidden):
        chain_accountability.start_accountability(s, rt, org["actors"]["a_rect"], round_id, "整改不力")
    with rt.sessions.begin() as s:
        acc = chain_accountability.start_accountability(s, rt, org["actors"]["a_jw"], round_id, "整改不力")
        acc_id = acc.id
    aid, status = instance_of(rt, f"accountability:{acc_id}")
    assert status == "running" and one(rt, aid, "talk")


def test_removal_message_completes_the_supervision_instance(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["2.1"]
    data = {"leader": "a_lead", "hard_deadline": "2025-03-31",
            "removal_condition": "制度修订并执行", "reason": "群众反映强烈"}
    with rt.sessions.begin() as s:
        sup_id = chain_supervision.decide_supervision(s, rt, org["actors"]["office"], pid, data).id
    sid, _ = instance_of(rt, f"supervision:{sup_id}")
    do(rt, org, "a_boss", one(rt, sid, "acknowledge"), {"acknowledged": True})
    finish_problem(rt, org, iid, "a_hr")
    assert instance_of(rt, f"supervision:{sup_id}")[1] == "completed"
