"""A problem's life in the chain: started, warned (green/yellow/red), progress reported, the
five acceptance steps, closed (销号). Called by the inline operations in ``workers/ops/chain.py``
inside the trigger's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.domain import AcceptanceStep, Measure, Problem, ProgressUpdate
from rectiflow.db.org import Unit
from rectiflow.domain.vocab import AcceptanceDecision, DeadlineType, MeasureStatus, ProblemStatus, WarningColour
from rectiflow.domain.vocab import AcceptanceStep as Step
from rectiflow.errors import Conflict
from rectiflow.i18n import N_, default_locale, translate
from rectiflow.services.chain.ledger import acceptance_history
from rectiflow.services.chain.rounds import COLOUR_RANK, WARNING_ROLES, get_problem

OVERALL_MEASURE = N_("Overall rectification")  # the measure of a problem whose report named none (总体整改)


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
    p.status = ProblemStatus.RECTIFYING
    p.updated_at = clock.now()


def warn(session: Session, clock: Clock, problem_id: int, colour: str) -> tuple[Problem, bool]:
    """Set the colour; count yellow/red once per escalation. Returns (problem, escalated)."""
    p = get_problem(session, problem_id)
    if colour not in WARNING_ROLES:
        raise Conflict(N_("Unknown colour %(colour)s."), colour=colour)
    if p.status == ProblemStatus.CLOSED:
        return p, False
    escalated = COLOUR_RANK[colour] > COLOUR_RANK.get(p.colour, 0)
    if escalated:
        p.colour = colour
        if colour == WarningColour.YELLOW:
            p.yellow_count += 1
        elif colour == WarningColour.RED:
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
    overall = translate(default_locale(), OVERALL_MEASURE)  # stored: the installation's language
    rows = list(measures or []) or [{"text": overall, "progress": progress}]
    existing = {m.seq: m for m in p.measures}
    for seq, row in enumerate(rows, start=1):
        m = existing.get(seq)
        mp = int(row.get("progress", progress) if row.get("progress") is not None else progress)
        if m is None:
            m = Measure(
                problem_id=p.id,
                seq=seq,
                text=row.get("text") or overall,
                target=row.get("target") or "",
                department_id=p.department_id or p.unit_id,
                cooperating=[],
                deadline=p.deadline,
                deadline_type=DeadlineType.BY_DATE,
                progress=0,
                progress_text="",
                status=MeasureStatus.RECTIFYING,
                colour=WarningColour.NONE,
                updated_at=now,
            )
            session.add(m)
            session.flush()
        m.text = row.get("text") or m.text
        m.progress, m.progress_text, m.updated_at = mp, narrative, now
        m.status = MeasureStatus.DONE if mp >= 100 else MeasureStatus.RECTIFYING
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
    p.status = ProblemStatus.AWAITING_ACCEPTANCE if int(progress) >= 100 else ProblemStatus.RECTIFYING
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
    if step not in Step.codes():
        raise Conflict(N_("Unknown acceptance step %(step)s."), step=step)
    if decision not in AcceptanceDecision.codes():
        raise Conflict(N_("Unknown decision %(decision)s."), decision=decision)
    p = get_problem(session, problem_id)
    now = clock.now()
    attempt = (
        session.scalar(
            select(func.count())
            .select_from(AcceptanceStep)
            .where(AcceptanceStep.problem_id == p.id, AcceptanceStep.step == Step.APPLY)
        )
        or 0
    )
    if step == Step.APPLY:
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
    if decision == AcceptanceDecision.RETURN:
        p.status = ProblemStatus.RETURNED
        p.returned_count += 1
        loc = default_locale()  # carried into process data, read by everyone on the problem
        return_reason = translate(loc, N_("Returned at %(step)s: %(opinion)s"), step=Step(step).label(loc),
                                  opinion=opinion)
    else:
        p.status = ProblemStatus.IN_ACCEPTANCE
    p.updated_at = now
    session.flush()
    return {"history": acceptance_history(session, p.id), "return_reason": return_reason, "attempt": attempt}


def close_problem(session: Session, clock: Clock, problem_id: int) -> Problem:
    p = get_problem(session, problem_id)
    rows = session.scalars(select(AcceptanceStep).where(AcceptanceStep.problem_id == p.id)).all()
    latest = max((s.attempt for s in rows), default=0)
    # only the latest attempt counts: a reopened (回头看) problem needs a whole new chain
    steps = {s.step for s in rows if s.attempt == latest and s.decision != AcceptanceDecision.RETURN}
    missing = [s.value for s in Step if s not in steps]
    if missing:  # closure is blocked until every acceptance step has signed off
        raise Conflict(N_("Problem %(number)s cannot be closed: steps missing: %(steps)s."), number=p.number,
                       steps=tuple(map(str, missing)))
    now = clock.now()
    p.status, p.closed_at, p.updated_at = ProblemStatus.CLOSED, now, now
    for m in p.measures:
        m.status = MeasureStatus.ACCEPTED
    session.flush()
    return p
