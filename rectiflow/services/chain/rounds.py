"""The rectification chain (链条式整改): rounds and the vocabulary shared by its modules.

``create_round`` validates a problem list and opens a round (its ``round`` process drives the rest).
The round-level state changes below are called by the inline operations in ``workers/ops/chain.py``
inside the trigger's transaction. A problem's own life is in ``chain_problems``, the ledger in
``chain_ledger``, follow-up subjects in ``chain_extension``, ``chain_supervision``, ``chain_reports``,
``chain_meetings``, ``chain_accountability`` and ``chain_reinspection``.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.domain import Problem, ReportMilestone, Round
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
    from rectiflow.services.workflow import instances

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


def round_and_unit(session: Session, round_id: Any) -> tuple[Round, Unit]:
    """The round and its inspected unit, whose path decides who may act on the round."""
    r = get_round(session, round_id)
    unit = session.get(Unit, r.unit_id)
    if unit is None:
        raise NotFound(f"round {round_id} not found")
    return r, unit


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
    session: Session, clock: Clock, round_id: int, kind: str, action: str, content: str = "",
    leader_content: str = "",
) -> str:
    """Submit, accept or return a statutory report. The 3-month submission carries two reports: the
    rectification report (``content``) and the principal leader's implementation report
    (``leader_content``; when left empty, the rectification report is taken to cover both)."""
    r = get_round(session, round_id)
    texts = {kind: content}
    if kind == "rectification_report":
        texts["leader_report"] = leader_content or content
    status = ""
    for k, text in texts.items():
        ms = session.scalar(
            select(ReportMilestone).where(ReportMilestone.round_id == r.id, ReportMilestone.kind == k)
        )
        if ms is None:
            continue
        now = clock.now()
        if action == "submit":
            ms.status, ms.submitted_at = "submitted", now
            if text:
                ms.content = text
        elif action == "accept":
            ms.status, ms.accepted_at = "accepted", now
        elif action == "return":
            ms.status = "pending"
        status = ms.status
    return status


def finish_round(session: Session, clock: Clock, round_id: int) -> str:
    r = get_round(session, round_id)
    # long-term items (长期坚持) stay open under their periodic reviews after the round closes
    if all(p.status == "closed" or (p.long_term and p.status == "ongoing") for p in r.problems):
        r.status, r.closed_at = "closed", clock.now()
    return r.status

