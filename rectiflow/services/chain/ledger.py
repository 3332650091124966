"""The ledger (整改台账) and a problem's acceptance trail: read-only queries over the chain's rows,
scoped to the units the caller may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from rectiflow.db.domain import AcceptanceStep, Problem, Round
from rectiflow.db.org import Unit
from rectiflow.services.chain.rounds import ACCEPTANCE_STEPS, PROBLEM_STATUSES


def problem_scope(actor: Any) -> Any:
    """The problems an actor may see: those in any unit subtree they hold a grant for (oversight roles
    included, grants are scoped); None for an administrator (everything). The ledger, its export, the
    statistics and the API all filter with this one condition."""
    if getattr(actor, "is_admin", False):
        return None
    paths = sorted({g.unit_path for g in actor.grants})
    if not paths:
        return false()
    return or_(*[Problem.unit_path.startswith(p, autoescape=True) for p in paths])


def ledger_rows(session: Session, actor: Any, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """整改台账: one row per problem the actor may see (their units' subtrees), filtered."""
    f = filters or {}
    q = select(Problem, Round).join(Round, Round.id == Problem.round_id)
    scope = problem_scope(actor) if actor is not None else None
    if scope is not None:
        q = q.where(scope)
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
    rows = session.execute(q).all()
    dept_ids = {p.department_id for p, _ in rows if p.department_id}
    depts = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(dept_ids)))} if dept_ids else {}
    out = []
    for p, r in rows:
        dept = depts.get(p.department_id) if p.department_id else None
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
