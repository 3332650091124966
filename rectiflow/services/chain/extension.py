"""延期 / 长期坚持: extension and long-term requests with two-level approval, and the periodic
reviews (每 N 个月一次) of long-term items.

A request is one ``ExtensionRequest`` row (on the problem's lead measure); the rectification office
decides first, then the inspection office. On final approval an extension moves the deadline of the
problem and its measures (the ``problem`` diagram re-enters its report task, which re-arms the
colour-warning timers to the new date); a long-term item is marked ``long_term`` with status
``ongoing`` and gets a chain of short ``long_term_review`` instances, one per review, each starting
the next: no instance loops forever, and the item stays on the ledger until it is accepted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.domain import ExtensionRequest, Measure, Problem, ProgressUpdate
from rectiflow.db.runtime import ProcessInstance
from rectiflow.domain import deadlines
from rectiflow.domain import vocab as v
from rectiflow.errors import Conflict, NotFound
from rectiflow.i18n import N_, translate
from rectiflow.services import audit
from rectiflow.services.chain.problems import OVERALL_MEASURE
from rectiflow.services.chain.rounds import get_problem

KINDS = v.ExtensionKind.codes()
LEVELS = (v.Role.RECTIFICATION_OFFICE, v.Role.INSPECTION_OFFICE)  # who decides, in order
DOC_LOCALE = "zh_CN"  # labels carried in process data are read in Chinese task forms
DEFAULT_REVIEW_CYCLE_MONTHS = 3




def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def lead_measure(session: Session, clock: Clock, p: Problem) -> Measure:
    """The problem's first measure, created as 总体整改 when progress was never reported."""
    if p.measures:
        return p.measures[0]
    m = Measure(problem_id=p.id, seq=1, text=translate(DOC_LOCALE, OVERALL_MEASURE), target="",
                department_id=p.department_id or p.unit_id,
                cooperating=[], deadline=p.deadline, deadline_type=v.DeadlineType.BY_DATE, progress=0,
                progress_text="", status=v.MeasureStatus.RECTIFYING, colour=v.WarningColour.NONE,
                updated_at=clock.now())
    session.add(m)
    session.flush()
    session.refresh(p, ["measures"])
    return m


def request_extension(session: Session, clock: Clock, problem_id: Any, kind: str, reason: str,
                      new_deadline: Any = None, review_cycle_months: Any = None,
                      actor: str = "system") -> dict[str, Any]:
    if kind not in KINDS:
        raise Conflict(N_("Unknown request kind %(kind)s."), kind=kind)
    p = get_problem(session, problem_id)
    if p.status == v.ProblemStatus.CLOSED:
        raise Conflict(N_("Problem %(number)s is closed."), number=p.number)
    new = _as_date(new_deadline)
    error = ""
    if kind == v.ExtensionKind.EXTENSION and new is None:
        error = translate(DOC_LOCALE, N_("Give the new rectification deadline."))
    elif kind == v.ExtensionKind.EXTENSION and p.deadline is not None and new is not None and new <= p.deadline:
        error = translate(DOC_LOCALE, N_("The new deadline must be later than the current one, %(deadline)s."),
                          deadline=p.deadline.isoformat())
    if error:  # the diagram sends the department back to its report task with this note
        return {"request_id": None, "error": error, "kind": kind, "label": v.ExtensionKind(kind).label(DOC_LOCALE)}
    cycle = int(review_cycle_months or DEFAULT_REVIEW_CYCLE_MONTHS) if kind == v.ExtensionKind.LONG_TERM else None
    now = clock.now()
    m = lead_measure(session, clock, p)
    req = ExtensionRequest(measure_id=m.id, kind=kind, reason=reason or "", old_deadline=p.deadline,
                           new_deadline=new if kind == v.ExtensionKind.EXTENSION else p.deadline,
                           status=v.ExtensionStatus.PENDING,
                           created_at=now)
    session.add(req)
    p.status, p.updated_at = v.ProblemStatus.EXTENSION_PENDING, now
    session.flush()
    audit.record(session, at=now, actor=actor, action="extension.requested", object_type="problem",
                 object_id=str(p.id), payload={"request_id": req.id, "kind": kind, "reason": reason,
                                               "new_deadline": new, "review_cycle_months": cycle})
    return {"request_id": req.id, "error": "", "kind": kind, "review_cycle_months": cycle,
            "new_deadline": new.isoformat() if new else None, "label": v.ExtensionKind(kind).label(DOC_LOCALE)}


def decide_extension(session: Session, clock: Clock, request_id: Any, level: str, decision: str,
                     reason: str = "", review_cycle_months: Any = None, actor: str = "system") -> dict[str, Any]:
    """One level's decision. A rejection at either level ends the request; approval by the
    inspection office applies it. Returns the problem's deadline in force afterwards."""
    if level not in LEVELS:
        raise Conflict(N_("Unknown approval level %(level)s."), level=level)
    if decision not in ("approve", "reject"):
        raise Conflict(N_("Unknown decision %(decision)s."), decision=decision)
    req = session.get(ExtensionRequest, int(request_id))
    if req is None:
        raise NotFound(N_("Extension request %(id)s not found."), id=request_id)
    m = session.get(Measure, req.measure_id)
    assert m is not None
    p = get_problem(session, m.problem_id)
    now = clock.now()
    if req.status != v.ExtensionStatus.PENDING:
        raise Conflict(N_("Extension request %(id)s is already %(extension_status)s."), id=req.id,
                       extension_status=req.status)
    final = decision == "reject" or level == v.Role.INSPECTION_OFFICE
    if decision == "reject":
        req.status, req.decided_at = v.ExtensionStatus.REJECTED, now
        p.status = v.ProblemStatus.RECTIFYING
    elif final:
        req.status, req.decided_at = v.ExtensionStatus.APPROVED, now
        if req.kind == v.ExtensionKind.EXTENSION:
            p.deadline = req.new_deadline
            for each in p.measures:
                each.deadline, each.colour, each.updated_at = req.new_deadline, v.WarningColour.NONE, now
            p.status = v.ProblemStatus.RECTIFYING
        else:
            cycle = int(review_cycle_months or DEFAULT_REVIEW_CYCLE_MONTHS)
            p.long_term, p.status = True, v.ProblemStatus.ONGOING
            for each in p.measures:
                each.deadline_type, each.review_cycle_months = v.DeadlineType.ONGOING, cycle
                each.status, each.colour, each.updated_at = v.MeasureStatus.ONGOING, v.WarningColour.NONE, now
        p.colour = v.WarningColour.NONE  # warnings start over against the deadline in force
    p.updated_at = now
    session.flush()
    audit.record(session, at=now, actor=actor, action=f"extension.{decision}d", object_type="problem",
                 object_id=str(p.id), payload={"request_id": req.id, "level": level, "kind": req.kind,
                                               "reason": reason, "deadline": p.deadline})
    return {"request_id": req.id, "status": req.status, "kind": req.kind, "final": final,
            "deadline": p.deadline.isoformat() if p.deadline else None,
            "reason": reason, "level_label": v.Role(level).label(DOC_LOCALE)}


# ---------------------------------------------------------------------------- long-term reviews


def review_start_data(session: Session, p: Problem, review_no: int, start: date, cycle: int) -> dict[str, Any]:
    from rectiflow.services.chain.problems import problem_start_data

    due = deadlines.add_months(start, review_no * cycle)
    return {**problem_start_data(session, p), "review_no": review_no, "review_date": due.isoformat(),
            "review_start": start.isoformat(), "review_cycle_months": cycle,
            "review_due": deadlines.add_working_days(due, 10).isoformat()}


def start_review(session: Session, rt: Any, problem_id: Any, review_no: int, start: Any, cycle: Any,
                 actor: str = "system", parent_id: int | None = None) -> int | None:
    """Start review ``review_no`` (idempotent); None when the item is no longer long-term and open."""
    from rectiflow.services.workflow import instances

    p = get_problem(session, problem_id)
    if not p.long_term or p.status == v.ProblemStatus.CLOSED:
        return None
    key = f"long_term_review:{p.id}:{review_no}"
    existing = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == key))
    if existing is not None:
        return int(existing)
    cycle_n = int(cycle or DEFAULT_REVIEW_CYCLE_MONTHS)
    data = review_start_data(session, p, review_no, _as_date(start) or rt.clock.today(), cycle_n)
    inst = instances.start_instance(session, rt, "long_term_review", data, actor=actor, business_key=key,
                                    title=translate(DOC_LOCALE, N_("Long-term review %(number)s (no. %(review)s)"),
                                                    number=p.number, review=review_no),
                                    unit_id=p.department_id, parent_id=parent_id)
    return inst.id


def review_open(session: Session, problem_id: Any) -> bool:
    p = get_problem(session, problem_id)
    return bool(p.long_term and p.status == v.ProblemStatus.ONGOING)


def record_review(session: Session, clock: Clock, problem_id: Any, progress: int, narrative: str,
                  fulfilled: bool, evidence: list[str] | None, by_user: int | None) -> Problem:
    """A periodic review's progress, per measure; the item stays ``ongoing`` until accepted."""
    p = get_problem(session, problem_id)
    now = clock.now()
    for m in p.measures or [lead_measure(session, clock, p)]:
        m.progress, m.progress_text, m.updated_at = int(progress), narrative, now
        session.add(ProgressUpdate(measure_id=m.id, progress=int(progress), text=narrative,
                                   evidence=list(evidence or []), by_user=by_user, at=now))
    if fulfilled:
        p.status = v.ProblemStatus.AWAITING_ACCEPTANCE
    p.updated_at = now
    session.flush()
    return p
