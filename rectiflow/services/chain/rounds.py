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
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.domain import Problem, ReportMilestone, Round
from rectiflow.db.org import Unit
from rectiflow.domain import deadlines, schedules
from rectiflow.domain.vocab import ProblemStatus, ReportKind, ReportStatus, Role, RoundStatus, WarningColour
from rectiflow.errors import Conflict, InvalidInput, NotFound
from rectiflow.i18n import N_, Message, default_locale, translate
from rectiflow.services import audit

# Statuses, steps and their labels are the vocabulary's (rectiflow.domain.vocab); colours escalate in its order.
COLOUR_RANK: dict[str, int] = {colour: rank for rank, colour in enumerate(WarningColour)}
# Who hears of each colour (roles, looked up on the problem's department and the units above it).
WARNING_ROLES: dict[str, tuple[Role, ...]] = {
    WarningColour.GREEN: (Role.RESPONSIBLE_DEPARTMENT,),
    WarningColour.YELLOW: (Role.RESPONSIBLE_DEPARTMENT, Role.LEADERSHIP_MEMBER, Role.RECTIFICATION_OFFICE),
    WarningColour.RED: (
        Role.RESPONSIBLE_DEPARTMENT,
        Role.LEADERSHIP_MEMBER,
        Role.RECTIFICATION_OFFICE,
        Role.PRINCIPAL_LEADER,
        Role.DISCIPLINE_COMMITTEE,
    ),
}
NUMBER = re.compile(r"^\d+(\.\d+)*$")
REPORT_KINDS = (ReportKind.RECTIFICATION_REPORT, ReportKind.PHASED_REPORT, ReportKind.ANNUAL_REPORT)


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
    from rectiflow.services.chain.scope import require_round_scope

    if not isinstance(actor, str):
        actor.require_role("inspection_office", "admin")
    require_round_scope(session, actor, unit_code)
    errors = _Errors()
    head = _check_round(session, errors, unit_code=unit_code, title=title, feedback_date=feedback_date,
                        meeting_cadence_days=meeting_cadence_days, schedule_preset=schedule_preset,
                        taxonomy_preset=taxonomy_preset, thresholds=thresholds)
    rows = _check_problems(session, errors, problems, head.unit, schedules.category_codes(head.taxonomy))
    if errors:
        raise InvalidInput(N_("The round cannot be opened."), errors=errors)
    assert head.unit is not None and head.feedback_date is not None
    _refuse_existing(session, head.unit, year, number)
    now = rt.clock.now()
    template = schedules.SCHEDULE_PRESETS[schedule_preset]
    rnd = Round(
        year=year,
        number=number,
        title=title,
        team=team or "",
        unit_id=head.unit.id,
        feedback_date=head.feedback_date,
        feedback_text=feedback_text or "",
        schedule=schedules.template_to_dict(template),
        thresholds=deadlines.thresholds_to_dict(head.thresholds),
        taxonomy=head.taxonomy,
        status=RoundStatus.FEEDBACK,
        created_at=now,
    )
    session.add(rnd)
    session.flush()
    _add_problems(session, rnd, rows, _default_deadline(head.feedback_date, template), now)
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
    _start_round_process(session, rt, rnd, head.unit, len(rows), meeting_cadence_days, name)
    return rnd


class _Errors(dict[str, list[Any]]):
    """Field path → messages, collected over the whole input so one refusal names every problem."""

    def add(self, path: str, msg: Any) -> None:
        self.setdefault(path, []).append(msg)


@dataclass
class _RoundHead:
    """The round's own fields, checked; a field that failed its check holds a harmless stand-in."""

    unit: Unit | None
    feedback_date: date | None
    thresholds: deadlines.Thresholds
    taxonomy: list[Any]


@dataclass
class _ProblemRow:
    """One problem of the list, checked, with its units resolved."""

    row: dict[str, Any]
    department: Unit
    functional_department: Unit | None
    deadline: date | None


def _check_round(
    session: Session,
    errors: _Errors,
    *,
    unit_code: str,
    title: str,
    feedback_date: Any,
    meeting_cadence_days: Any,
    schedule_preset: str,
    taxonomy_preset: str,
    thresholds: dict[str, Any] | None,
) -> _RoundHead:
    err = errors.add
    unit = _unit(session, unit_code)
    if unit is None:
        err("unit_code", Message(N_("Unknown unit: %(code)s"), code=unit_code))
    if not isinstance(title, str) or not title.strip():
        err("title", Message(N_("Required.")))
    try:
        fb = feedback_date if isinstance(feedback_date, date) else date.fromisoformat(str(feedback_date))
    except ValueError:
        err("feedback_date", Message(N_("Enter a valid date (YYYY-MM-DD)")))
        fb = None
    if not isinstance(meeting_cadence_days, int) or not 1 <= meeting_cadence_days <= 366:
        err("meeting_cadence_days", Message(N_("The meeting cadence must be between 1 and 366 days.")))
    if schedule_preset not in schedules.SCHEDULE_PRESETS:
        err("schedule_preset", Message(N_("Unknown report template: %(name)s"), name=schedule_preset))
    if taxonomy_preset not in schedules.TAXONOMY_PRESETS:
        err("taxonomy_preset", Message(N_("Unknown problem taxonomy: %(name)s"), name=taxonomy_preset))
    try:
        th = deadlines.thresholds_from_dict(thresholds or {})
    except deadlines.ConfigError as exc:
        err("thresholds", "; ".join(exc.args[0]) if exc.args and isinstance(exc.args[0], list) else str(exc))
        th = deadlines.Thresholds()
    taxonomy = copy.deepcopy(schedules.TAXONOMY_PRESETS.get(taxonomy_preset, []))
    return _RoundHead(unit, fb, th, taxonomy)


def _check_problems(session: Session, errors: _Errors, problems: Any, unit: Unit | None,
                    codes: Any) -> list[_ProblemRow]:
    """Every row of the problem list checked; the rows whose department resolved, in order."""
    if not problems:
        errors.add("problems", Message(N_("The problem list must not be empty.")))
    seen: dict[str, int] = {}
    rows: list[_ProblemRow] = []
    for i, row in enumerate(problems or []):
        p = f"problems[{i}]"
        if not isinstance(row, dict):
            errors.add(p, Message(N_("Expected an object.")))
            continue
        _check_problem_fields(errors, p, i, row, seen, codes)
        dept, func_unit = _problem_units(session, errors, p, row, unit)
        deadline = None
        if row.get("deadline"):
            try:
                deadline = date.fromisoformat(str(row["deadline"]))
            except ValueError:
                errors.add(f"{p}.deadline", Message(N_("Enter a valid date (YYYY-MM-DD)")))
        if dept is not None:
            rows.append(_ProblemRow(row, dept, func_unit, deadline))
    return rows


def _check_problem_fields(errors: _Errors, p: str, i: int, row: dict[str, Any], seen: dict[str, int],
                          codes: Any) -> None:
    err = errors.add
    num = str(row.get("number") or "").strip()
    if not num:
        err(f"{p}.number", Message(N_("Required.")))
    elif not NUMBER.match(num):
        err(f"{p}.number", Message(N_("A number looks like 1, 1.2 or 1.2.3.")))
    elif num in seen:
        err(f"{p}.number", Message(N_("Duplicate number (the same as row %(row)s)."), row=seen[num] + 1))
    else:
        seen[num] = i
    cat = row.get("category")
    if not cat:
        err(f"{p}.category", Message(N_("Required.")))
    elif cat not in codes:
        err(f"{p}.category", Message(N_("Unknown problem category: %(code)s"), code=cat))
    tag = row.get("domain_tag") or ""
    if tag and tag not in schedules.BUSINESS_DOMAIN_TAGS:
        err(f"{p}.domain_tag", Message(N_("Unknown business domain: %(tag)s"), tag=tag))
    if not str(row.get("feedback_text") or "").strip():
        err(f"{p}.feedback_text", Message(N_("Required.")))


def _problem_units(session: Session, errors: _Errors, p: str, row: dict[str, Any],
                   unit: Unit | None) -> tuple[Unit | None, Unit | None]:
    """The responsible department (inside the inspected unit) and the functional department, by code."""
    err = errors.add
    dept = _unit(session, row.get("department_code"))
    if not row.get("department_code"):
        err(f"{p}.department_code", Message(N_("Required.")))
    elif dept is None:
        err(f"{p}.department_code", Message(N_("Unknown unit: %(code)s"), code=row.get("department_code")))
    elif unit is not None and not dept.path.startswith(unit.path):
        err(f"{p}.department_code", Message(N_("The responsible department is not part of the inspected unit.")))
    func_unit = None
    if row.get("functional_department_code"):
        func_unit = _unit(session, row["functional_department_code"])
        if func_unit is None:
            err(f"{p}.functional_department_code",
                Message(N_("Unknown unit: %(code)s"), code=row["functional_department_code"]))
    return dept, func_unit


def _refuse_existing(session: Session, unit: Unit, year: int, number: int) -> None:
    if (
        session.scalar(
            select(Round.id).where(Round.unit_id == unit.id, Round.year == year, Round.number == number)
        )
        is not None
    ):
        raise InvalidInput(N_("The round exists already."), errors={
            "number": [Message(N_("Round %(number)s of %(year)s exists already."), year=year, number=number)]})


def _default_deadline(fb: date, template: Any) -> date:
    """A problem without its own deadline is due with the rectification report."""
    return dict((m.kind, d) for m, d in schedules.milestone_dates(fb, template)).get(
        ReportKind.RECTIFICATION_REPORT, deadlines.add_months(fb, 3)
    )


def _add_problems(session: Session, rnd: Round, rows: list[_ProblemRow], default_deadline: date,
                  now: Any) -> None:
    for r in rows:
        row, dept, func_unit = r.row, r.department, r.functional_department
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
                status=ProblemStatus.NOT_STARTED,
                colour=WarningColour.NONE,
                deadline=r.deadline or default_deadline,
                updated_at=now,
            )
        )
    session.flush()


def _start_round_process(session: Session, rt: Any, rnd: Round, unit: Unit, problem_count: int,
                         meeting_cadence_days: int, actor_name: str) -> None:
    """The ``round`` process drives everything after the opening (feedback, plan, rectification)."""
    from rectiflow.services.workflow import instances

    inst = instances.start_instance(
        session,
        rt,
        "round",
        {
            "round_id": rnd.id,
            "round_title": rnd.title,
            "unit_id": unit.id,
            "unit_name": unit.name,
            "feedback_date": rnd.feedback_date.isoformat(),
            "problem_count": problem_count,
            "meeting_cadence_days": meeting_cadence_days,
        },
        actor=actor_name,
        business_key=f"round:{rnd.id}",
        # Stored and shown to everyone in the instance lists: written in the installation's language.
        title=translate(default_locale(), N_("Inspection rectification: %(title)s"), title=rnd.title),
        unit_id=unit.id,
    )
    rnd.instance_id = inst.id
    session.flush()


# ---------------------------------------------------------------------------- state changes (ops)


def get_problem(session: Session, problem_id: Any) -> Problem:
    p = session.get(Problem, int(problem_id))
    if p is None:
        raise NotFound(N_("Problem %(id)s not found."), id=problem_id)
    return p


def get_round(session: Session, round_id: Any) -> Round:
    r = session.get(Round, int(round_id))
    if r is None:
        raise NotFound(N_("Round %(id)s not found."), id=round_id)
    return r


def round_and_unit(session: Session, round_id: Any) -> tuple[Round, Unit]:
    """The round and its inspected unit, whose path decides who may act on the round."""
    r = get_round(session, round_id)
    unit = session.get(Unit, r.unit_id)
    if unit is None:
        raise NotFound(N_("Round %(id)s not found."), id=round_id)
    return r, unit


def set_round_status(session: Session, clock: Clock, round_id: int, status: str) -> Round:
    if status not in RoundStatus.codes():
        raise Conflict(N_("Unknown round status %(status)s."), status=status)
    r = get_round(session, round_id)
    r.status = status
    if status == RoundStatus.CLOSED:
        r.closed_at = clock.now()
    return r


def check_plan(
    session: Session, round_id: int, plan_text: str, goals: str, responsibilities_confirmed: bool
) -> list[str]:
    """一方案三清单 completeness: what is still missing (empty list when complete)."""
    r = get_round(session, round_id)
    r.plan_text = plan_text or ""
    r.status = RoundStatus.PLANNING
    missing = []
    if len((plan_text or "").strip()) < 10:
        missing.append(Message(N_("The rectification plan is too short (at least 10 characters).")))
    if not (goals or "").strip():
        missing.append(Message(N_("The rectification goals are missing.")))
    if not responsibilities_confirmed:
        missing.append(Message(N_("The responsibility list is not confirmed (each problem's responsible "
                                  "department and leader).")))
    for p in r.problems:
        if p.department_id is None:
            missing.append(Message(N_("Problem %(number)s has no responsible department."), number=p.number))
        if p.deadline is None:
            missing.append(Message(N_("Problem %(number)s has no rectification deadline."), number=p.number))
    # Process data (read in the task forms by everyone on the round): text in the installation's language.
    return [m.render(default_locale()) for m in missing]


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
                    status=ReportStatus.SUBMITTED if m.kind == ReportKind.PLAN else ReportStatus.PENDING,
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
    if kind == ReportKind.RECTIFICATION_REPORT:
        texts[ReportKind.LEADER_REPORT] = leader_content or content
    status = ""
    for k, text in texts.items():
        ms = session.scalar(
            select(ReportMilestone).where(ReportMilestone.round_id == r.id, ReportMilestone.kind == k)
        )
        if ms is None:
            continue
        now = clock.now()
        if action == "submit":
            ms.status, ms.submitted_at = ReportStatus.SUBMITTED, now
            if text:
                ms.content = text
        elif action == "accept":
            ms.status, ms.accepted_at = ReportStatus.ACCEPTED, now
        elif action == "return":
            ms.status = ReportStatus.PENDING
        status = ms.status
    return status


def finish_round(session: Session, clock: Clock, round_id: int) -> str:
    r = get_round(session, round_id)
    # long-term items (长期坚持) stay open under their periodic reviews after the round closes
    if all(p.status == ProblemStatus.CLOSED or (p.long_term and p.status == ProblemStatus.ONGOING)
           for p in r.problems):
        r.status, r.closed_at = RoundStatus.CLOSED, clock.now()
    return r.status

