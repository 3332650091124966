"""延期 and 长期坚持: two-level approval, the deadline moved and the warning timers re-armed, the
long-term item kept open under periodic reviews after its round closed; and the regulation preset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from rectiflow.db.domain import ExtensionRequest, Measure, Notice, Problem, ReportMilestone, Round
from rectiflow.db.runtime import ProcessInstance, Timer
from rectiflow.domain.vocab import ProblemStatus
from rectiflow.errors import InvalidFormData
from rectiflow.read import ledger as read_ledger
from rectiflow.read.ledger import LedgerFilter
from rectiflow.services.workflow import timers
from scenarios.test_round import (
    EVIDENCE,
    STEPS,
    beijing_9,
    do,
    notices_by_kind,
    one,
    open_round,
    plan_approved,
    problems,
    ready,
    rectify_and_close,
)


def problem_timers(rt, iid):
    with rt.reads() as s:
        rows = s.scalars(select(Timer).where(Timer.instance_id == iid).order_by(Timer.id)).all()
        return [(t.element_id, t.due_at.astimezone(UTC).isoformat(), t.status) for t in rows]


def request(rt, org, iid, who="a_fin", **data):
    do(rt, org, who, one(rt, iid, "report"), data)


def test_extension_approved_moves_the_deadline_and_rearms_the_warnings(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["1.1"]  # deadline 2025-04-30
    assert {(e, st) for e, _, st in problem_timers(rt, iid)} == {
        ("t_green", "waiting"), ("t_yellow", "waiting"), ("t_red", "waiting")}
    rt.clock.set(beijing_9("2025-04-10") + timedelta(seconds=1))  # green against the old deadline
    timers.tick(rt)
    assert notices_by_kind(rt, pid) == {"warning_green": {"a_fin", "a_fin2"}}
    request(rt, org, iid, action="extension", reason="设备采购周期长", new_deadline="2025-06-30")
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert p.status == "extension_pending"
        [req] = s.scalars(select(ExtensionRequest)).all()
        assert (req.kind, req.status, req.old_deadline.isoformat()) == ("extension", "pending", "2025-04-30")
    ro = one(rt, iid, "approve_ro")
    assert ro.role == "rectification_office" and "延期申请审批" in ro.title
    do(rt, org, "a_rect", ro, {"decision": "approve", "opinion": "同意"})
    io = one(rt, iid, "approve_io")
    assert io.role == "inspection_office"
    do(rt, org, "office", io, {"decision": "approve", "opinion": "同意延期"})
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert (p.deadline.isoformat(), p.status, p.colour) == ("2025-06-30", "rectifying", "none")
        assert {m.deadline.isoformat() for m in s.scalars(select(Measure).where(Measure.problem_id == pid))} == {
            "2025-06-30"}
        req = s.scalars(select(ExtensionRequest)).one()
        assert (req.status, req.new_deadline.isoformat()) == ("approved", "2025-06-30")
    report = one(rt, iid, "report")  # re-entered, due at the new deadline
    assert report.due_at.isoformat() == "2025-06-30T16:00:00+00:00"
    got = problem_timers(rt, iid)
    # the old timers: green fired, yellow and red cancelled; new ones wait for the new dates
    assert ("t_green", "2025-04-10T01:00:00+00:00", "fired") in got
    assert ("t_yellow", "2025-04-20T01:00:00+00:00", "cancelled") in got
    assert ("t_red", "2025-04-30T16:00:00+00:00", "cancelled") in got
    assert {(e, due) for e, due, st in got if st == "waiting"} == {
        ("t_green", "2025-06-10T01:00:00+00:00"),
        ("t_yellow", "2025-06-20T01:00:00+00:00"),
        ("t_red", "2025-06-30T16:00:00+00:00"),
    }
    rt.clock.set(datetime.fromisoformat("2025-04-30T16:00:01+00:00"))  # the old deadline passes quietly
    timers.tick(rt)
    assert set(notices_by_kind(rt, pid)) == {"warning_green"}
    rt.clock.set(beijing_9("2025-06-10") + timedelta(seconds=1))
    timers.tick(rt)
    rt.clock.set(beijing_9("2025-06-20") + timedelta(seconds=1))
    timers.tick(rt)
    with rt.reads() as s:
        subjects = {n.kind: set() for n in s.scalars(select(Notice).where(Notice.problem_id == pid))}
        for n in s.scalars(select(Notice).where(Notice.problem_id == pid)):
            subjects[n.kind].add(n.subject)
        p = s.get(Problem, pid)
        assert (p.colour, p.yellow_count, p.red_count) == ("yellow", 1, 0)
    assert any("2025-06-30" in t for t in subjects["warning_green"])  # the new green, on 10 June
    assert subjects["warning_yellow"] and all("2025-06-30" in t for t in subjects["warning_yellow"])
    assert notices_by_kind(rt, pid)["warning_yellow"] == {"a_fin", "a_fin2", "a_lead", "a_rect"}


def test_extension_rejected_with_a_reason_keeps_the_deadline(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["1.2"]
    request(rt, org, iid, "a_fin2", action="extension", reason="人手不足", new_deadline="2025-08-31")
    do(rt, org, "a_rect", one(rt, iid, "approve_ro"), {"decision": "approve"})
    do(rt, org, "office", one(rt, iid, "approve_io"), {"decision": "reject", "reason": "理由不充分"})
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert (p.deadline.isoformat(), p.status) == ("2025-04-30", "rectifying")
        assert s.scalars(select(ExtensionRequest)).one().status == "rejected"
    assert one(rt, iid, "report").due_at.isoformat() == "2025-04-30T16:00:00+00:00"
    assert {(e, due) for e, due, st in problem_timers(rt, iid) if st == "waiting"} == {
        ("t_green", "2025-04-10T01:00:00+00:00"),
        ("t_yellow", "2025-04-20T01:00:00+00:00"),
        ("t_red", "2025-04-30T16:00:00+00:00"),
    }
    again = one(rt, iid, "report")
    assert "延期申请未获批准：理由不充分" in again.title  # the reason is on the department's task
    # an extension must move the deadline later: back to the department with a note
    request(rt, org, iid, "a_fin2", action="extension", reason="x", new_deadline="2025-03-01")
    assert "延期后的时限必须晚于原时限 2025-04-30" in one(rt, iid, "report").title
    with rt.reads() as s:
        assert s.get(Problem, pid).status == "rectifying" and s.scalars(select(ExtensionRequest)).one()
    # the department must give a reason
    with pytest.raises(InvalidFormData) as err:
        request(rt, org, iid, "a_fin2", action="long_term")
    assert "reason" in err.value.errors


def submit_report(rt, org, round_iid, tag):
    do(rt, org, "a_pc", one(rt, round_iid, f"submit_{tag}"), {"content": "报告"})
    do(rt, org, "office", one(rt, round_iid, f"review_{tag}"), {"decision": "approve"})


def review_instances(rt, pid):
    with rt.reads() as s:
        return {
            i.business_key: (i.id, i.status)
            for i in s.scalars(select(ProcessInstance).where(ProcessInstance.process_key == "long_term_review"))
            if i.business_key.startswith(f"long_term_review:{pid}:")
        }


def test_long_term_item_stays_open_with_reviews_after_the_round_closes(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    probs = problems(rt, round_id)
    pid, iid, _ = probs["2.1"]
    request(rt, org, iid, "a_hr", action="long_term", reason="选人用人制度需长期坚持", review_cycle_months=3)
    do(rt, org, "a_rect", one(rt, iid, "approve_ro"), {"decision": "approve"})
    do(rt, org, "office", one(rt, iid, "approve_io"), {"decision": "approve"})
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert (p.long_term, p.status) == (True, "ongoing")
        assert ProblemStatus.label_of(p.status, "zh_CN") == "阶段性完成/持续整改"
        assert s.get(ProcessInstance, iid).status == "completed"
        m = s.scalars(select(Measure).where(Measure.problem_id == pid)).one()
        assert (m.deadline_type, m.review_cycle_months) == ("ongoing", 3)
    assert list(review_instances(rt, pid)) == [f"long_term_review:{pid}:1"]
    rectify_and_close(rt, org, probs["1.1"][1], "a_fin")
    rectify_and_close(rt, org, probs["1.2"][1], "a_fin2")
    # (day the timers fire, what happens): reviews every 3 months from 31 Jan, reports on schedule
    script = [("2025-04-16", "3m"), ("2025-04-30", 1), ("2025-07-17", "6m"), ("2025-07-31", 2),
              ("2025-10-31", 3), ("2025-12-17", "12m")]
    for day, what in script:
        if isinstance(what, int):
            rt.clock.set(beijing_9(day) - timedelta(minutes=1))
            timers.tick(rt)
            key = f"long_term_review:{pid}:{what}"
            rid = review_instances(rt, pid)[key][0]
            assert ready(rt, rid) == []  # not before the review day
            rt.clock.set(beijing_9(day) + timedelta(seconds=1))
            timers.tick(rt)
            task = one(rt, rid, "review")
            assert task.role == "responsible_department" and f"第 {what} 次" in task.title
            do(rt, org, "a_hr", task, {"progress": 20 * what, "narrative": f"第{what}次检查：制度执行良好"})
            assert review_instances(rt, pid)[key][1] == "completed"
        else:
            rt.clock.set(datetime.fromisoformat(day + "T02:00:00+00:00"))
            timers.tick(rt)
            submit_report(rt, org, round_iid, what)
    with rt.reads() as s:
        assert s.get(Round, round_id).status == "closed"
        assert s.get(ProcessInstance, round_iid).status == "completed"
        rows = {r["number"]: r
                for r in read_ledger.export_rows(s, org["actors"]["office"], LedgerFilter(round=round_id))}
        assert (rows["2.1"]["status"], rows["2.1"]["long_term"]) == ("ongoing", True)
        assert rows["1.1"]["status"] == rows["1.2"]["status"] == "closed"
    # the fourth review still arrives, on 31 January of the next year
    rid = review_instances(rt, pid)[f"long_term_review:{pid}:4"][0]
    rt.clock.set(beijing_9("2026-01-31") + timedelta(seconds=1))
    timers.tick(rt)
    task = one(rt, rid, "review")
    fin = [t for t in ready(rt, role="responsible_department") if t.id == task.id]
    assert fin and task.due_at is not None
    # the mechanism is in place: the item goes through acceptance and is closed
    do(rt, org, "a_hr", task, {"progress": 100, "narrative": "已形成长效机制", "fulfilled": True})
    do(rt, org, "a_hr", one(rt, rid, "apply"), {"summary": "长效机制已建立", "evidence": [EVIDENCE]})
    for step, who, data in STEPS:
        do(rt, org, who, one(rt, rid, step), data)
    with rt.reads() as s:
        assert s.get(Problem, pid).status == "closed"
        assert s.get(ProcessInstance, rid).status == "completed"
    assert f"long_term_review:{pid}:5" not in review_instances(rt, pid)


def test_regulation_preset_report_due_two_months_after_feedback(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org, schedule_preset="regulation")
    plan_approved(rt, org, round_iid)
    with rt.reads() as s:
        ms = {
            m.kind: m.due_date.isoformat()
            for m in s.scalars(select(ReportMilestone).where(ReportMilestone.round_id == round_id))
        }
        assert s.get(Problem, problems(rt, round_id)["1.1"][0]).deadline.isoformat() == "2025-03-31"
    assert ms["rectification_report"] == "2025-03-31" and ms["leader_report"] == "2025-03-31"
    assert ms["annual_report"] == "2025-12-31"
    rt.clock.set(datetime(2025, 3, 16, 1, 0, 1, tzinfo=UTC))  # 15 days before, 09:00 Beijing
    timers.tick(rt)
    sub = one(rt, round_iid, "submit_3m")
    assert sub.due_at.isoformat() == "2025-03-31T16:00:00+00:00"
