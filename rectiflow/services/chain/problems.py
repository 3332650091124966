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
from rectiflow.errors import Conflict
from rectiflow.services.chain.ledger import acceptance_history
from rectiflow.services.chain.rounds import ACCEPTANCE_STEPS, COLOUR_RANK, WARNING_ROLES, get_problem


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
