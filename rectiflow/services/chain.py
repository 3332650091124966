"""The rectification chain (链条式整改): rounds, problems, acceptance, reports.

``create_round`` validates a problem list and opens a round (its ``round`` process drives the rest).
The ``*_`` state-change functions below are called by the inline operations in
``workers/ops/chain.py`` inside the trigger's transaction; the ledger is a plain query on the rows.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.domain import AcceptanceStep, Measure, Problem, ProgressUpdate, ReportMilestone, Round
from rectiflow.db.org import Unit
from rectiflow.domain import deadlines, schedules
from rectiflow.errors import Conflict, InvalidInput, NotFound
from rectiflow.services import audit

PROBLEM_STATUSES = {
    "not_started": "未启动",
    "rectifying": "整改中",
    "awaiting_acceptance": "已完成待验收",
    "in_acceptance": "验收中",
    "closed": "已销号",
    "ongoing": "阶段性完成/持续整改",
    "extension_pending": "延期审批中",
    "returned": "退回重改",
}
ROUND_STATUSES = {"feedback": "反馈交办", "planning": "制定方案", "rectifying": "整改中", "closed": "已完成"}
ACCEPTANCE_STEPS = {
    "apply": "提出验收申请",
    "verify": "核验支撑材料",
    "higher_opinion": "上级业务部门意见",
    "decision_meeting": "党组织决策会议",
    "sign_off": "领导小组销号",
}
COLOUR_RANK = {"none": 0, "green": 1, "yellow": 2, "red": 3}
# Who hears of each colour (roles, looked up on the problem's department and the units above it).
WARNING_ROLES = {
    "green": ("responsible_department",),
    "yellow": ("responsible_department", "leadership_member", "rectification_office"),
    "red": (
        "responsible_department",
        "leadership_member",
        "rectification_office",
        "principal_leader",
        "discipline_committee",
    ),
}
NUMBER = re.compile(r"^\d+(\.\d+)*$")
REPORT_KINDS = ("rectification_report", "phased_report", "annual_report")


def _actor_name(actor: Any) -> str:
    return actor if isinstance(actor, str) else getattr(actor, "username", "system")


def sort_key(number: str) -> str:
    return ".".join(f"{int(p):04d}" for p in number.split("."))


def _unit(session: Session, code: Any) -> Unit | None:
    if not isinstance(code, str) or not code:
        return None
    return session.scalar(select(Unit).where(Unit.code == code))


# ---------------------------------------------------------------------------- opening a round


def create_round(
    session: Session,
    rt: Any,
    *,
    actor: Any,
    unit_code: str,
    year: int,
    number: int,
    title: str,
    team: str,
    feedback_date: Any,
    feedback_text: str,
    schedule_preset: str = "enterprise",
    taxonomy_preset: str = "four_implementations",
    thresholds: dict[str, Any] | None = None,
    problems: list[dict[str, Any]],
    meeting_cadence_days: int = 30,
) -> Round:
    """Validate everything first; on any error raise InvalidInput (row paths) and create nothing."""
    from rectiflow.services import instances

    if not isinstance(actor, str):
        actor.require_role("inspection_office", "admin")
    errors: dict[str, list[str]] = {}

    def err(path: str, msg: str) -> None:
        errors.setdefault(path, []).append(msg)

    unit = _unit(session, unit_code)
    if unit is None:
        err("unit_code", f"未知单位：{unit_code}")
    if not isinstance(title, str) or not title.strip():
        err("title", "必填")
    try:
        fb = feedback_date if isinstance(feedback_date, date) else date.fromisoformat(str(feedback_date))
    except ValueError:
        err("feedback_date", "请输入有效日期")
        fb = None
    if not isinstance(meeting_cadence_days, int) or not 1 <= meeting_cadence_days <= 366:
        err("meeting_cadence_days", "沟通协调会周期应为 1 至 366 天")
    if schedule_preset not in schedules.SCHEDULE_PRESETS:
        err("schedule_preset", f"未知的报告模板：{schedule_preset}")
    if taxonomy_preset not in schedules.TAXONOMY_PRESETS:
        err("taxonomy_preset", f"未知的问题分类：{taxonomy_preset}")
    try:
        th = deadlines.thresholds_from_dict(thresholds or {})
    except deadlines.ConfigError as exc:
        err("thresholds", "; ".join(exc.args[0]) if exc.args and isinstance(exc.args[0], list) else str(exc))
        th = deadlines.Thresholds()
    taxonomy = copy.deepcopy(schedules.TAXONOMY_PRESETS.get(taxonomy_preset, []))
    codes = schedules.category_codes(taxonomy)
    if not problems:
        err("problems", "问题清单不能为空")
    seen: dict[str, int] = {}
    rows: list[tuple[dict[str, Any], Unit, Unit | None, date | None]] = []
    for i, row in enumerate(problems or []):
        p = f"problems[{i}]"
        if not isinstance(row, dict):
            err(p, "必须是一个对象")
            continue
        num = str(row.get("number") or "").strip()
        if not num:
            err(f"{p}.number", "必填")
        elif not NUMBER.match(num):
            err(f"{p}.number", "编号格式应为 1 或 1.2 或 1.2.3")
        elif num in seen:
            err(f"{p}.number", f"编号重复（与第 {seen[num] + 1} 行相同）")
        else:
            seen[num] = i
        cat = row.get("category")
        if not cat:
            err(f"{p}.category", "必填")
        elif cat not in codes:
            err(f"{p}.category", f"未知的问题类别：{cat}")
        tag = row.get("domain_tag") or ""
        if tag and tag not in schedules.BUSINESS_DOMAIN_TAGS:
            err(f"{p}.domain_tag", f"未知的业务领域：{tag}")
        if not str(row.get("feedback_text") or "").strip():
            err(f"{p}.feedback_text", "必填")
        dept = _unit(session, row.get("department_code"))
        if not row.get("department_code"):
            err(f"{p}.department_code", "必填")
        elif dept is None:
            err(f"{p}.department_code", f"未知单位：{row.get('department_code')}")
        elif unit is not None and not dept.path.startswith(unit.path):
            err(f"{p}.department_code", "责任部门不属于被巡察单位")
        func_unit = None
        if row.get("functional_department_code"):
            func_unit = _unit(session, row["functional_department_code"])
            if func_unit is None:
                err(f"{p}.functional_department_code", f"未知单位：{row['functional_department_code']}")
        deadline = None
        if row.get("deadline"):
            try:
                deadline = date.fromisoformat(str(row["deadline"]))
            except ValueError:
                err(f"{p}.deadline", "请输入有效日期")
        if dept is not None:
            rows.append((row, dept, func_unit, deadline))
    if errors:
        raise InvalidInput("the round cannot be opened", errors=errors)
    assert unit is not None and fb is not None
    if (
        session.scalar(
            select(Round.id).where(Round.unit_id == unit.id, Round.year == year, Round.number == number)
        )
        is not None
    ):
        raise InvalidInput("the round exists", errors={"number": [f"{year} 年第 {number} 轮已存在"]})
    template = schedules.SCHEDULE_PRESETS[schedule_preset]
    default_deadline = dict((m.kind, d) for m, d in schedules.milestone_dates(fb, template)).get(
        "rectification_report", deadlines.add_months(fb, 3)
    )
    now = rt.clock.now()
    rnd = Round(
        year=year,
        number=number,
        title=title,
        team=team or "",
        unit_id=unit.id,
        feedback_date=fb,
        feedback_text=feedback_text or "",
        schedule=schedules.template_to_dict(template),
        thresholds=deadlines.thresholds_to_dict(th),
        taxonomy=taxonomy,
        status="feedback",
        created_at=now,
    )
    session.add(rnd)
    session.flush()
    for row, dept, func_unit, deadline in rows:
        session.add(
            Problem(
                round_id=rnd.id,
                number=str(row["number"]).strip(),
                sort_key=sort_key(str(row["number"]).strip()),
                aspect=row.get("aspect") or "",
                category=row["category"],
                domain_tag=row.get("domain_tag") or "",
                feedback_text=row["feedback_text"],
                root_cause=row.get("root_cause") or "",
                immediate=bool(row.get("immediate", False)),
                unit_id=dept.id,
                unit_path=dept.path,
                department_id=dept.id,
                functional_department_id=func_unit.id if func_unit else None,
                status="not_started",
                colour="none",
                deadline=deadline or default_deadline,
                updated_at=now,
            )
        )
    session.flush()
    name = _actor_name(actor)
    audit.record(
        session,
        at=now,
        actor=name,
        action="round.created",
        object_type="round",
        object_id=str(rnd.id),
        payload={"title": title, "unit": unit_code, "problems": len(rows)},
    )
    inst = instances.start_instance(
        session,
        rt,
        "round",
        {
            "round_id": rnd.id,
            "round_title": title,
            "unit_id": unit.id,
            "unit_name": unit.name,
            "feedback_date": fb.isoformat(),
            "problem_count": len(rows),
            "meeting_cadence_days": meeting_cadence_days,
        },
        actor=name,
        business_key=f"round:{rnd.id}",
        title=f"巡察整改：{title}",
        unit_id=unit.id,
    )
    rnd.instance_id = inst.id
    session.flush()
    return rnd


# ---------------------------------------------------------------------------- ledger


def ledger_rows(session: Session, actor: Any, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """整改台账: one row per problem the actor may see (their units' subtrees), filtered."""
    f = filters or {}
    q = select(Problem, Round).join(Round, Round.id == Problem.round_id)
    if actor is not None and not getattr(actor, "is_admin", False):
        paths = sorted({g.unit_path for g in actor.grants})
        if not paths:
            return []
        q = q.where(or_(*[Problem.unit_path.startswith(p) for p in paths]))
    for key, col in (
        ("round_id", Problem.round_id),
        ("status", Problem.status),
        ("colour", Problem.colour),
        ("category", Problem.category),
        ("department_id", Problem.department_id),
    ):
        if f.get(key) not in (None, ""):
            q = q.where(col == f[key])
    if f.get("unit_id"):
        u = session.get(Unit, int(f["unit_id"]))
        if u is not None:
            q = q.where(Problem.unit_path.startswith(u.path))
    q = q.order_by(Round.id, Problem.sort_key)
    out = []
    for p, r in session.execute(q).all():
        dept = session.get(Unit, p.department_id) if p.department_id else None
        out.append(
            {
                "id": p.id,
                "round_id": r.id,
                "round_title": r.title,
                "number": p.number,
                "aspect": p.aspect,
                "category": p.category,
                "domain_tag": p.domain_tag,
                "feedback_text": p.feedback_text,
                "department": dept.name if dept else "",
                "department_code": dept.code if dept else "",
                "status": p.status,
                "status_label": PROBLEM_STATUSES.get(p.status, p.status),
                "colour": p.colour,
                "deadline": p.deadline.isoformat() if p.deadline else None,
                "yellow_count": p.yellow_count,
                "red_count": p.red_count,
                "returned_count": p.returned_count,
                "supervised": p.supervised,
                "long_term": p.long_term,
                "closed_at": p.closed_at.isoformat() if p.closed_at else None,
                "instance_id": p.instance_id,
            }
        )
    return out


def acceptance_history(session: Session, problem_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AcceptanceStep).where(AcceptanceStep.problem_id == problem_id).order_by(AcceptanceStep.id)
    )
    return [
        {
            "attempt": s.attempt,
            "step": s.step,
            "step_label": ACCEPTANCE_STEPS.get(s.step, s.step),
            "decision": s.decision,
            "opinion": s.opinion,
            "attachments": list(s.attachments or []),
            "by_user": s.by_user,
            "at": s.at.isoformat(),
        }
        for s in rows
    ]


# ---------------------------------------------------------------------------- state changes (ops)


def get_problem(session: Session, problem_id: Any) -> Problem:
    p = session.get(Problem, int(problem_id))
    if p is None:
        raise NotFound(f"problem {problem_id} not found")
    return p


def get_round(session: Session, round_id: Any) -> Round:
    r = session.get(Round, int(round_id))
    if r is None:
        raise NotFound(f"round {round_id} not found")
    return r


def set_round_status(session: Session, clock: Clock, round_id: int, status: str) -> Round:
    if status not in ROUND_STATUSES:
        raise Conflict(f"unknown round status {status}")
    r = get_round(session, round_id)
    r.status = status
    if status == "closed":
        r.closed_at = clock.now()
    return r


def check_plan(
    session: Session, round_id: int, plan_text: str, goals: str, responsibilities_confirmed: bool
) -> list[str]:
    """一方案三清单 completeness: what is still missing (empty list when complete)."""
    r = get_round(session, round_id)
    r.plan_text = plan_text or ""
    r.status = "planning"
    missing = []
    if len((plan_text or "").strip()) < 10:
        missing.append("整改方案内容过于简略（至少 10 个字）")
    if not (goals or "").strip():
        missing.append("缺少整改目标")
    if not responsibilities_confirmed:
        missing.append("责任清单未确认（每个问题的责任部门、责任领导）")
    for p in r.problems:
        if p.department_id is None:
            missing.append(f"问题 {p.number} 未指定责任部门")
        if p.deadline is None:
            missing.append(f"问题 {p.number} 未设定整改时限")
    return missing


def schedule_reports(session: Session, round_id: int) -> dict[str, str]:
    """ReportMilestone rows from the round's template; returns {kind: due date}."""
    r = get_round(session, round_id)
    template = schedules.template_from_dict(r.schedule)
    dues: dict[str, str] = {}
    for m, due in schedules.milestone_dates(r.feedback_date, template):
        dues[m.kind] = due.isoformat()
        exists = session.scalar(
            select(ReportMilestone).where(ReportMilestone.round_id == r.id, ReportMilestone.kind == m.kind)
        )
        if exists is None:
            session.add(
                ReportMilestone(
                    round_id=r.id,
                    kind=m.kind,
                    due_date=due,
                    status="submitted" if m.kind == "plan" else "pending",
                )
            )
    session.flush()
    return dues


def record_report(
    session: Session, clock: Clock, round_id: int, kind: str, action: str, content: str = ""
) -> str:
    r = get_round(session, round_id)
    kinds = [kind, "leader_report"] if kind == "rectification_report" else [kind]
    status = ""
    for k in kinds:
        ms = session.scalar(
            select(ReportMilestone).where(ReportMilestone.round_id == r.id, ReportMilestone.kind == k)
        )
        if ms is None:
            continue
        now = clock.now()
        if action == "submit":
            ms.status, ms.submitted_at = "submitted", now
            if content:
                ms.content = content
        elif action == "accept":
            ms.status, ms.accepted_at = "accepted", now
        elif action == "return":
            ms.status = "pending"
        status = ms.status
    return status


def problem_start_data(session: Session, p: Problem) -> dict[str, Any]:
    dept = session.get(Unit, p.department_id) if p.department_id else None
    return {
        "problem_id": p.id,
        "problem_number": p.number,
        "problem_title": p.feedback_text[:60],
        "round_id": p.round_id,
        "round_title": p.round.title,
        "unit_id": p.department_id or p.unit_id,
        "department_name": dept.name if dept else "",
        "functional_unit_id": p.functional_department_id,
        "deadline": p.deadline.isoformat() if p.deadline else None,
    }


def mark_problem_started(session: Session, clock: Clock, p: Problem, instance_id: int) -> None:
    p.instance_id = instance_id
    p.status = "rectifying"
    p.updated_at = clock.now()


def warn(session: Session, clock: Clock, problem_id: int, colour: str) -> tuple[Problem, bool]:
    """Set the colour; count yellow/red once per escalation. Returns (problem, escalated)."""
    p = get_problem(session, problem_id)
    if colour not in WARNING_ROLES:
        raise Conflict(f"unknown colour {colour}")
    if p.status == "closed":
        return p, False
    escalated = COLOUR_RANK[colour] > COLOUR_RANK.get(p.colour, 0)
    if escalated:
        p.colour = colour
        if colour == "yellow":
            p.yellow_count += 1
        elif colour == "red":
            p.red_count += 1
        p.updated_at = clock.now()
    return p, escalated


def record_progress(
    session: Session,
    clock: Clock,
    problem_id: int,
    progress: int,
    narrative: str,
    measures: list[dict[str, Any]] | None,
    evidence: list[str] | None,
    by_user: int | None,
) -> Problem:
    p = get_problem(session, problem_id)
    now = clock.now()
    rows = list(measures or []) or [{"text": "总体整改", "progress": progress}]
    existing = {m.seq: m for m in p.measures}
    for seq, row in enumerate(rows, start=1):
        m = existing.get(seq)
        mp = int(row.get("progress", progress) if row.get("progress") is not None else progress)
        if m is None:
            m = Measure(
                problem_id=p.id,
                seq=seq,
                text=row.get("text") or "总体整改",
                target=row.get("target") or "",
                department_id=p.department_id or p.unit_id,
                cooperating=[],
                deadline=p.deadline,
                deadline_type="by_date",
                progress=0,
                progress_text="",
                status="rectifying",
                colour="none",
                updated_at=now,
            )
            session.add(m)
            session.flush()
        m.text = row.get("text") or m.text
        m.progress, m.progress_text, m.updated_at = mp, narrative, now
        m.status = "done" if mp >= 100 else "rectifying"
        session.add(
            ProgressUpdate(
                measure_id=m.id,
                progress=mp,
                text=narrative,
                evidence=list(evidence or []),
                by_user=by_user,
                at=now,
            )
        )
    p.status = "awaiting_acceptance" if int(progress) >= 100 else "rectifying"
    p.updated_at = now
    session.flush()
    return p


def record_acceptance_step(
    session: Session,
    clock: Clock,
    problem_id: int,
    step: str,
    decision: str,
    opinion: str,
    attachments: list[str] | None,
    by_user: int | None,
) -> dict[str, Any]:
    if step not in ACCEPTANCE_STEPS:
        raise Conflict(f"unknown acceptance step {step}")
    if decision not in ("submit", "approve", "return"):
        raise Conflict(f"unknown decision {decision}")
    p = get_problem(session, problem_id)
    now = clock.now()
    attempt = (
        session.scalar(
            select(func.count())
            .select_from(AcceptanceStep)
            .where(AcceptanceStep.problem_id == p.id, AcceptanceStep.step == "apply")
        )
        or 0
    )
    if step == "apply":
        attempt += 1
    session.add(
        AcceptanceStep(
            problem_id=p.id,
            attempt=max(attempt, 1),
            step=step,
            decision=decision,
            opinion=opinion or "",
            attachments=list(attachments or []),
            by_user=by_user,
            at=now,
        )
    )
    return_reason = ""
    if decision == "return":
        p.status = "returned"
        p.returned_count += 1
        return_reason = f"{ACCEPTANCE_STEPS[step]}退回：{opinion}"
    else:
        p.status = "in_acceptance"
    p.updated_at = now
    session.flush()
    return {"history": acceptance_history(session, p.id), "return_reason": return_reason, "attempt": attempt}


def close_problem(session: Session, clock: Clock, problem_id: int) -> Problem:
    p = get_problem(session, problem_id)
    rows = session.scalars(select(AcceptanceStep).where(AcceptanceStep.problem_id == p.id)).all()
    latest = max((s.attempt for s in rows), default=0)
    # only the latest attempt counts: a reopened (回头看) problem needs a whole new chain
    steps = {s.step for s in rows if s.attempt == latest and s.decision != "return"}
    missing = [s for s in ACCEPTANCE_STEPS if s not in steps]
    if missing:  # closure is blocked until every acceptance step has signed off
        raise Conflict(f"problem {p.number} cannot be closed: missing steps {missing}")
    now = clock.now()
    p.status, p.closed_at, p.updated_at = "closed", now, now
    for m in p.measures:
        m.status = "accepted"
    session.flush()
    return p


def finish_round(session: Session, clock: Clock, round_id: int) -> str:
    r = get_round(session, round_id)
    # long-term items (长期坚持) stay open under their periodic reviews after the round closes
    if all(p.status == "closed" or (p.long_term and p.status == "ongoing") for p in r.problems):
        r.status, r.closed_at = "closed", clock.now()
    return r.status


# Follow-up subjects live in their own modules (chain_extension, chain_supervision, ...).
from rectiflow.services.chain_reinspection import reopen_problem  # noqa: E402,F401
