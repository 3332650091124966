"""Statutory reports of a round: the submit task opens with a draft written from the ledger, and a
report not in by its due date escalates to the principal leader, 纪委 and 巡察办 (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from rectiflow.db.domain import Notice, ReportMilestone
from rectiflow.db.org import User
from rectiflow.services.workflow import timers
from scenarios.test_round import do, one, open_round, plan_approved, problems, ready, rectify_and_close

REMINDER_3M = datetime(2025, 4, 15, 1, 0, 1, tzinfo=UTC)  # 09:00 Beijing, 15 days before 30 April
END_OF_30_APRIL = datetime.fromisoformat("2025-04-30T16:00:00+00:00")  # midnight in Beijing


def milestones(rt, round_id):
    with rt.reads() as s:
        return {
            m.kind: m.status for m in s.scalars(select(ReportMilestone).where(ReportMilestone.round_id == round_id))
        }


def overdue_notices(rt, round_id):
    with rt.reads() as s:
        rows = s.scalars(
            select(Notice).where(Notice.round_id == round_id, Notice.dedupe_key.startswith("report_overdue:"))
        ).all()
        return [(n.kind, s.get(User, n.recipient_id).username) for n in rows]


def test_submit_task_opens_with_a_draft_from_the_ledger(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    rectify_and_close(rt, org, problems(rt, round_id)["1.1"][1], "a_fin")
    rt.clock.set(REMINDER_3M)
    timers.tick(rt)
    sub = one(rt, round_iid, "submit_3m")
    draft = sub.draft
    assert set(draft) == {"content", "leader_report"}
    text = draft["content"]
    assert "电厂A关于2025年第一轮巡察整改情况报告" in text and "数据截至：2025-04-15" in text
    assert "本轮巡察反馈共3个问题，已销号1个，销号率33.3%；整改措施共1项，已完成1项；" in text
    assert "超期未完成问题0个；挂牌督办问题0个。" in text
    assert "按整改状态：整改中2个，已销号1个。" in text
    assert "1.1　【已销号】公务接待超标准（责任部门：plant_a-finance；整改时限：2025-04-30；销号日期：" in text
    assert "2.1　【整改中】干部选拔程序不严（责任部门：plant_a-hr；整改时限：2025-04-30）" in text
    assert "三、超期未完成问题\n无。" in text and "【请补充】" in text
    leader = draft["leader_report"]
    assert "主要负责人组织落实巡察整改情况报告" in leader and "巡察反馈的3个问题中，已销号1个" in leader
    # the party committee edits the draft instead of typing it
    do(rt, org, "a_pc", sub, {**draft, "content": text.replace("【请补充】", "已补充", 1)})
    with rt.reads() as s:
        m = s.scalar(
            select(ReportMilestone).where(
                ReportMilestone.round_id == round_id, ReportMilestone.kind == "rectification_report"
            )
        )
        assert "本轮巡察反馈共3个问题" in m.content and m.status == "submitted"
        lm = s.scalar(select(ReportMilestone).where(ReportMilestone.round_id == round_id,
                                                    ReportMilestone.kind == "leader_report"))
        # each report keeps its own text: the principal leader's is not a copy of the rectification report
        assert lm.status == "submitted" and lm.content == leader and "本轮巡察反馈共3个问题" not in lm.content
    # returned: the task opens again with what was submitted, not a fresh draft
    do(rt, org, "office", one(rt, round_iid, "review_3m"), {"decision": "return", "reason": "数据不全"})
    again = one(rt, round_iid, "submit_3m")
    assert again.id != sub.id
    assert again.draft == {"content": text.replace("【请补充】", "已补充", 1), "leader_report": leader}
    do(rt, org, "a_pc", again, again.draft)
    do(rt, org, "office", one(rt, round_iid, "review_3m"), {"decision": "approve"})
    # the 6-month report: a fresh draft, without the principal leader's part
    rt.clock.set(datetime(2025, 7, 16, 1, 0, 1, tzinfo=UTC))
    timers.tick(rt)
    phased = one(rt, round_iid, "submit_6m").draft
    assert set(phased) == {"content"}
    assert "阶段性整改情况报告" in phased["content"] and "共3个问题，已销号1个" in phased["content"]
    assert "超期未完成问题2个" in phased["content"] and "已超期 77 天" in phased["content"]


def test_late_report_escalates_once_and_can_still_be_submitted(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    rt.clock.set(REMINDER_3M)
    timers.tick(rt)
    sub = one(rt, round_iid, "submit_3m")
    rt.clock.set(END_OF_30_APRIL - timedelta(seconds=1))  # the due day has not ended yet
    timers.tick(rt)
    assert overdue_notices(rt, round_id) == []
    assert milestones(rt, round_id)["rectification_report"] == "pending"
    rt.clock.set(END_OF_30_APRIL + timedelta(seconds=1))
    timers.tick(rt)
    got = overdue_notices(rt, round_id)
    assert sorted(got) == [("report_due", "a_boss"), ("report_due", "a_jw"), ("report_due", "office")]
    ms = milestones(rt, round_id)
    assert ms["rectification_report"] == "overdue" and ms["leader_report"] == "overdue"
    assert ms["phased_report"] == "pending"
    assert [t.id for t in ready(rt, round_iid, "submit_3m")] == [sub.id]  # the task stays open
    rt.clock.advance(timedelta(days=2))
    timers.tick(rt)
    assert len(overdue_notices(rt, round_id)) == 3  # once per milestone
    # submitted late: the report goes on to review as usual
    do(rt, org, "a_pc", sub, {**sub.draft, "content": "整改情况报告（逾期报送）"})
    assert milestones(rt, round_id)["rectification_report"] == "submitted"
    do(rt, org, "office", one(rt, round_iid, "review_3m"), {"decision": "return", "reason": "数据不全"})
    # back after the due date: overdue again at once, but nobody is told a second time
    again = one(rt, round_iid, "submit_3m")
    timers.tick(rt)
    assert milestones(rt, round_id)["rectification_report"] == "overdue"
    assert len(overdue_notices(rt, round_id)) == 3
    assert [t.id for t in ready(rt, round_iid, "submit_3m")] == [again.id]
    do(rt, org, "a_pc", again, {"content": "整改情况报告（补充）"})
    do(rt, org, "office", one(rt, round_iid, "review_3m"), {"decision": "approve"})
    ms = milestones(rt, round_id)
    assert ms["rectification_report"] == "accepted" and ms["leader_report"] == "accepted"
    assert len(overdue_notices(rt, round_id)) == 3
    assert ready(rt, round_iid) == []  # waiting for the 6-month reminder
