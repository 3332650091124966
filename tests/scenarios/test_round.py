"""A round of rectification end to end through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from rectiflow.db.domain import AcceptanceStep, Notice, Problem, ReportMilestone, Round
from rectiflow.db.org import User
from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.errors import InvalidFormData, InvalidInput
from rectiflow.read import ledger as read_ledger
from rectiflow.read.ledger import LedgerFilter
from rectiflow.services import audit
from rectiflow.services.chain import ledger as chain_ledger
from rectiflow.services.chain import rounds as chainsvc
from rectiflow.services.workflow import tasks, timers

# Evidence is a real stored file (the chain fixture uploads both for every department): a submission
# may only reference files that exist and that the submitter may see.
EVIDENCE_FILES = {"整改佐证材料.txt": "整改佐证材料：制度修订稿及执行记录".encode(),
                  "补充材料.txt": "补充材料：整改台账及公示截图说明".encode()}
EVIDENCE, EVIDENCE_MORE = (hashlib.sha256(content).hexdigest() for content in EVIDENCE_FILES.values())
PROBLEMS = [
    {
        "number": "1.1",
        "aspect": "落实全面从严治党",
        "category": "2.1",
        "domain_tag": "中央八项规定",
        "feedback_text": "公务接待超标准",
        "department_code": "plant_a_finance",
        "functional_department_code": "group_finance",
    },
    {
        "number": "1.2",
        "aspect": "落实全面从严治党",
        "category": "5.3",
        "domain_tag": "资金",
        "feedback_text": "资金审批不规范",
        "department_code": "plant_a_finance",
    },
    {
        "number": "2.1",
        "aspect": "组织路线",
        "category": "3.1",
        "domain_tag": "选人用人",
        "feedback_text": "干部选拔程序不严",
        "department_code": "plant_a_hr",
    },
]


def open_round(rt, org, problems=PROBLEMS, **kw):
    with rt.sessions.begin() as s:
        rnd = chainsvc.create_round(
            s,
            rt,
            actor=org["actors"]["office"],
            unit_code="plant_a",
            year=2025,
            number=1,
            title="2025年第一轮巡察",
            team="第一巡察组",
            feedback_date="2025-01-31",
            feedback_text="反馈意见全文",
            problems=problems,
            **kw,
        )
        return rnd.id, rnd.instance_id


def ready(rt, instance_id=None, element=None, role=None):
    with rt.reads() as s:
        q = select(UserTask).where(UserTask.status == "ready")
        if instance_id is not None:
            q = q.where(UserTask.instance_id == instance_id)
        if element:
            q = q.where(UserTask.element_id == element)
        if role:
            q = q.where(UserTask.role == role)
        return list(s.scalars(q.order_by(UserTask.created_at, UserTask.id)))


def do(rt, org, who, task, data):
    with rt.sessions.begin() as s:
        return tasks.complete_task(s, rt, task.id, org["actors"][who], data)


def one(rt, instance_id, element):
    found = ready(rt, instance_id, element)
    assert len(found) == 1, (element, [t.element_id for t in ready(rt, instance_id)])
    return found[0]


def plan_approved(rt, org, round_iid):
    do(rt, org, "office", one(rt, round_iid, "issue"), {"issued_on": "2025-01-31"})
    do(
        rt,
        org,
        "a_rect",
        one(rt, round_iid, "draft_plan"),
        {
            "plan_text": "一方案三清单：整改方案全文……",
            "goals": "全部销号",
            "responsibilities_confirmed": True,
        },
    )
    do(rt, org, "a_jw", one(rt, round_iid, "review_jw"), {"decision": "approve"})
    do(rt, org, "office", one(rt, round_iid, "review_io"), {"decision": "approve"})
    do(rt, org, "a_pc", one(rt, round_iid, "approve_plan"), {"decision": "approve"})


def problems(rt, round_id):
    with rt.reads() as s:
        return {
            p.number: (p.id, p.instance_id, p.status)
            for p in s.scalars(select(Problem).where(Problem.round_id == round_id))
        }


def status(rt, problem_id):
    with rt.reads() as s:
        return s.get(Problem, problem_id).status


APPROVE = {"decision": "approve", "opinion": "同意"}
MEETING = {"decision": "approve", "meeting_date": "2025-03-01", "minutes": "党委会研究同意销号"}
STEPS = [
    ("verify", "a_rect", APPROVE),
    ("higher_opinion", "func", APPROVE),
    ("decision_meeting", "a_pc", MEETING),
    ("sign_off", "leader", APPROVE),
]


def rectify_and_close(rt, org, iid, dept_user, returns_at=()):
    do(
        rt,
        org,
        dept_user,
        one(rt, iid, "report"),
        {"progress": 50, "narrative": "整改过半", "measures": [{"text": "修订接待制度", "progress": 50}]},
    )
    do(rt, org, dept_user, one(rt, iid, "report"), {"progress": 100, "narrative": "整改完成"})
    do(rt, org, dept_user, one(rt, iid, "apply"), {"summary": "已整改", "evidence": [EVIDENCE]})
    for step, who, data in STEPS:
        if step in returns_at:
            do(
                rt,
                org,
                who,
                one(rt, iid, step),
                {**data, "decision": "return", "reason": f"{step}要求补充材料"},
            )
            again = one(rt, iid, "apply")
            assert f"{step}要求补充材料" in again.title  # the requirement is visible on the task
            do(rt, org, dept_user, again, {"summary": "已补充", "evidence": [EVIDENCE, EVIDENCE_MORE]})
            for s2, w2, d2 in STEPS:  # the chain starts over from verification
                if s2 == step:
                    break
                do(rt, org, w2, one(rt, iid, s2), d2)
        do(rt, org, who, one(rt, iid, step), data)


def test_round_from_feedback_to_last_sign_off(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    [issue] = ready(rt, round_iid)
    assert (issue.element_id, issue.role) == ("issue", "inspection_office")
    do(rt, org, "office", issue, {"issued_on": "2025-01-31"})
    with rt.reads() as s:  # the feedback went to the unit's party committee and rectification office
        notified = {
            s.get(User, n.recipient_id).username
            for n in s.scalars(select(Notice).where(Notice.round_id == round_id))
        }
    assert {"a_pc", "a_rect", "func"} <= notified and "b_rect" not in notified
    # an incomplete plan loops back to the draft
    do(rt, org, "a_rect", one(rt, round_iid, "draft_plan"), {"plan_text": "方案"})
    t = one(rt, round_iid, "draft_plan")
    do(
        rt,
        org,
        "a_rect",
        t,
        {
            "plan_text": "一方案三清单：整改方案全文……",
            "goals": "全部销号",
            "responsibilities_confirmed": True,
        },
    )
    # parallel review, one return sends it back
    do(rt, org, "a_jw", one(rt, round_iid, "review_jw"), {"decision": "return", "reason": "措施不具体"})
    do(rt, org, "office", one(rt, round_iid, "review_io"), {"decision": "approve"})
    do(
        rt,
        org,
        "a_rect",
        one(rt, round_iid, "draft_plan"),
        {
            "plan_text": "一方案三清单：细化后的措施……",
            "goals": "全部销号",
            "responsibilities_confirmed": True,
        },
    )
    do(rt, org, "a_jw", one(rt, round_iid, "review_jw"), {"decision": "approve"})
    do(rt, org, "office", one(rt, round_iid, "review_io"), {"decision": "approve"})
    do(rt, org, "a_pc", one(rt, round_iid, "approve_plan"), {"decision": "approve"})
    probs = problems(rt, round_id)
    assert {n: st for n, (_, _, st) in probs.items()} == {
        "1.1": "rectifying",
        "1.2": "rectifying",
        "2.1": "rectifying",
    }
    with rt.reads() as s:
        assert s.get(Round, round_id).status == "rectifying"
    # inboxes are scoped: finance sees two problems, HR one, plant B none
    fin = [t for t in ready(rt, role="responsible_department") if tasks.can_act(t, org["actors"]["a_fin"])]
    hr = [t for t in ready(rt, role="responsible_department") if tasks.can_act(t, org["actors"]["a_hr"])]
    bfin = [t for t in ready(rt) if tasks.can_view(t, org["actors"]["b_fin"])]
    assert len(fin) == 2 and len(hr) == 1 and bfin == []
    # each problem through rectification and the five acceptance steps
    rectify_and_close(rt, org, probs["1.1"][1], "a_fin")
    rectify_and_close(rt, org, probs["1.2"][1], "a_fin2")
    assert status(rt, probs["2.1"][0]) == "rectifying"
    rectify_and_close(rt, org, probs["2.1"][1], "a_hr")
    with rt.reads() as s:
        rows = read_ledger.export_rows(s, org["actors"]["office"], LedgerFilter(round=round_id))
        assert [(r["number"], r["status"]) for r in rows] == [
            ("1.1", "closed"),
            ("1.2", "closed"),
            ("2.1", "closed"),
        ]
        assert len(read_ledger.export_rows(s, org["actors"]["a_hr"], LedgerFilter())) == 1
        assert read_ledger.export_rows(s, org["actors"]["b_rect"], LedgerFilter()) == []
        for _, iid, _ in probs.values():
            assert s.get(ProcessInstance, iid).status == "completed"
        steps = [
            a.step
            for a in s.scalars(
                select(AcceptanceStep)
                .where(AcceptanceStep.problem_id == probs["1.1"][0])
                .order_by(AcceptanceStep.id)
            )
        ]
        assert steps == ["apply", "verify", "higher_opinion", "decision_meeting", "sign_off"]
        actions = [e.action for e in audit.timeline(s, instance_ids=[probs["1.1"][1]])]
        assert actions[0] == "instance.started" and actions.count("task.completed") == 7
        assert audit.verify(s).problems == []
    # the statutory reports: 3 months (30 April), 6 months, year end
    for tag, due in (("3m", "2025-04-30"), ("6m", "2025-07-31"), ("12m", "2025-12-31")):
        rt.clock.set(datetime.fromisoformat(due).replace(tzinfo=UTC) - timedelta(days=14))
        timers.tick(rt)
        sub = one(rt, round_iid, f"submit_{tag}")
        assert sub.role == "party_committee"
        do(rt, org, "a_pc", sub, {"content": "报告", "leader_report": "主要负责人组织落实情况"})
        do(rt, org, "office", one(rt, round_iid, f"review_{tag}"), {"decision": "approve"})
    with rt.reads() as s:
        assert s.get(ProcessInstance, round_iid).status == "completed"
        assert s.get(Round, round_id).status == "closed"
        ms = {
            m.kind: m.status
            for m in s.scalars(select(ReportMilestone).where(ReportMilestone.round_id == round_id))
        }
        assert ms == {
            "plan": "submitted",
            "rectification_report": "accepted",
            "leader_report": "accepted",
            "phased_report": "accepted",
            "annual_report": "accepted",
        }


@pytest.mark.parametrize("step", ["verify", "higher_opinion", "decision_meeting", "sign_off"])
def test_send_back_at_each_review_step_then_closure(rt, chain, step):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["1.1"]
    rectify_and_close(rt, org, iid, "a_fin", returns_at=(step,))
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert (p.status, p.returned_count) == ("closed", 1)
        rows = s.scalars(
            select(AcceptanceStep).where(AcceptanceStep.problem_id == pid).order_by(AcceptanceStep.id)
        ).all()
        ret = [r for r in rows if r.decision == "return"]
        assert [(r.step, r.opinion) for r in ret] == [(step, f"{step}要求补充材料")]
        assert {r.attempt for r in rows if r.step == "apply"} == {1, 2}
        history = chain_ledger.acceptance_history(s, pid)
        assert history[-1]["step"] == "sign_off"


def test_application_step_is_refused_without_evidence(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["1.1"]
    do(rt, org, "a_fin", one(rt, iid, "report"), {"progress": 100, "narrative": "完成"})
    apply = one(rt, iid, "apply")
    with pytest.raises(InvalidFormData) as err:
        do(rt, org, "a_fin", apply, {"summary": "已整改", "evidence": []})
    assert "evidence" in err.value.errors
    with pytest.raises(InvalidFormData):
        do(rt, org, "a_fin", apply, {"summary": "已整改"})
    assert one(rt, iid, "apply").id == apply.id and status(rt, pid) == "awaiting_acceptance"
    # a return without a reason is refused too
    do(rt, org, "a_fin", apply, {"summary": "已整改", "evidence": [EVIDENCE]})
    with pytest.raises(InvalidFormData) as err:
        do(rt, org, "a_rect", one(rt, iid, "verify"), {"decision": "return", "opinion": "不同意"})
    assert "reason" in err.value.errors


def beijing_9(day):
    return datetime.fromisoformat(day + "T01:00:00+00:00")  # 09:00 in Beijing


def notices_by_kind(rt, problem_id):
    with rt.reads() as s:
        out: dict[str, set[str]] = {}
        for n in s.scalars(select(Notice).where(Notice.problem_id == problem_id)):
            out.setdefault(n.kind, set()).add(s.get(User, n.recipient_id).username)
        return out


def test_late_problem_gets_green_yellow_red_on_the_right_days(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid, iid, _ = problems(rt, round_id)["1.1"]  # deadline 2025-04-30 (the 3-month report date)
    hr_pid = problems(rt, round_id)["2.1"][0]
    rt.clock.set(beijing_9("2025-04-10") - timedelta(minutes=1))
    timers.tick(rt)
    assert notices_by_kind(rt, pid) == {}
    rt.clock.set(beijing_9("2025-04-10") + timedelta(seconds=1))  # 20 days left
    timers.tick(rt)
    assert notices_by_kind(rt, pid) == {"warning_green": {"a_fin", "a_fin2"}}
    assert notices_by_kind(rt, hr_pid) == {"warning_green": {"a_hr"}}
    # progress reported meanwhile: the task stays, the timers keep running
    do(rt, org, "a_fin", one(rt, iid, "report"), {"progress": 60, "narrative": "过半"})
    rt.clock.set(beijing_9("2025-04-20") + timedelta(seconds=1))  # 10 days left
    timers.tick(rt)
    got = notices_by_kind(rt, pid)
    assert got["warning_yellow"] == {"a_fin", "a_fin2", "a_lead", "a_rect"}
    rt.clock.set(datetime.fromisoformat("2025-04-30T16:00:01+00:00"))  # the deadline day has ended
    timers.tick(rt)
    got = notices_by_kind(rt, pid)
    assert got["warning_red"] == {"a_fin", "a_fin2", "a_lead", "a_rect", "a_boss", "a_jw"}
    assert "b_rect" not in set().union(*got.values())
    with rt.reads() as s:
        p = s.get(Problem, pid)
        assert (p.colour, p.yellow_count, p.red_count) == ("red", 1, 1)
        assert s.get(Problem, hr_pid).red_count == 1
    assert timers.tick(rt).claimed == 0  # each fires once
    with rt.reads() as s:
        assert s.get(Problem, pid).red_count == 1
    assert one(rt, iid, "report")  # still to be reported


def test_three_month_report_due_on_30_april(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    with rt.reads() as s:
        ms = {
            m.kind: m.due_date.isoformat()
            for m in s.scalars(select(ReportMilestone).where(ReportMilestone.round_id == round_id))
        }
    assert ms["rectification_report"] == "2025-04-30" and ms["leader_report"] == "2025-04-30"
    assert ms["phased_report"] == "2025-07-31" and ms["annual_report"] == "2025-12-31"
    rt.clock.set(datetime(2025, 4, 15, 1, 0, 1, tzinfo=UTC))
    timers.tick(rt)
    sub = one(rt, round_iid, "submit_3m")
    assert sub.due_at.isoformat() == "2025-04-30T16:00:00+00:00"
    with rt.reads() as s:
        told = {
            s.get(User, n.recipient_id).username
            for n in s.scalars(select(Notice).where(Notice.kind == "report_due"))
        }
    assert {"a_pc", "a_boss", "a_rect"} <= told
    do(rt, org, "a_pc", sub, {"content": "整改情况报告"})
    do(rt, org, "office", one(rt, round_iid, "review_3m"), {"decision": "return", "reason": "数据不全"})
    do(rt, org, "a_pc", one(rt, round_iid, "submit_3m"), {"content": "整改情况报告（补充）"})
    do(rt, org, "office", one(rt, round_iid, "review_3m"), {"decision": "approve"})
    with rt.reads() as s:
        m = s.scalar(
            select(ReportMilestone).where(
                ReportMilestone.round_id == round_id, ReportMilestone.kind == "rectification_report"
            )
        )
        assert (m.status, m.content) == ("accepted", "整改情况报告（补充）")


def test_invalid_problem_list_reports_row_errors_and_creates_nothing(rt, chain):
    org = chain
    bad = [
        dict(PROBLEMS[0]),
        {**PROBLEMS[1], "number": "1.1"},
        {**PROBLEMS[2], "category": "9.9"},
        {"number": "3.1", "category": "1.1", "feedback_text": "", "department_code": "nowhere"},
        {**PROBLEMS[2], "number": "3.2", "department_code": "plant_b_hr"},
    ]
    with pytest.raises(InvalidInput) as err:
        open_round(rt, org, problems=bad)
    e = err.value.errors
    assert set(e) == {
        "problems[1].number",
        "problems[2].category",
        "problems[3].feedback_text",
        "problems[3].department_code",
        "problems[4].department_code",
    }
    with rt.reads() as s:
        assert s.scalars(select(Round)).all() == [] and s.scalars(select(Problem)).all() == []
        assert s.scalars(select(ProcessInstance)).all() == []


def test_a_progress_report_opens_prefilled_from_the_previous_one(rt, chain):
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    _pid, iid, _status = problems(rt, round_id)["1.1"]
    first = one(rt, iid, "report")
    assert first.draft is None  # nothing reported yet: nothing to pre-fill
    previous = {"progress": 50, "narrative": "整改过半", "measures": [{"text": "修订接待制度", "progress": 50}]}
    do(rt, org, "a_fin", first, previous)
    again = one(rt, iid, "report")
    assert again.id != first.id
    assert again.draft == previous
