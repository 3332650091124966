"""What an actor may see: the problems in the unit subtrees they hold a grant for, and those units.
The ledger, its export, the rounds, the statistics and the API all filter with these conditions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from rectiflow.db.domain import Problem
from rectiflow.db.org import Unit
from rectiflow.services.accounts.actors import Actor


def subtree(column: Any, path: str) -> Any:
    """``column`` in the subtree at ``path`` (materialised paths like "/1/4/"). A prefix match, not a
    range: under a linguistic collation ("/1/23/" sorts inside "/1/2/".."/1/2/\uffff" when punctuation
    is ignored) a range would leak a sibling's rows."""
    return column.startswith(path, autoescape=True)


def problem_scope(actor: Actor) -> Any:
    """The problems ``actor`` may see, as a WHERE clause: those in any unit subtree they hold a grant
    for (oversight roles included: grants are scoped); everything for an administrator."""
    if actor.is_admin:
        return true()
    paths = sorted({g.unit_path for g in actor.grants})
    if not paths:
        return false()
    return or_(*[subtree(Problem.unit_path, p) for p in paths])


def visible_units(session: Session, actor: Actor) -> list[Unit]:
    """The units ``actor`` can see, in tree order: every unit under one of their grants."""
    paths = sorted({g.unit_path for g in actor.grants})
    if not paths:
        return []
    return list(session.scalars(select(Unit).where(or_(*[subtree(Unit.path, p) for p in paths]))
                                .order_by(Unit.path, Unit.id)))


def visible_unit(session: Session, actor: Actor, unit_id: int | None) -> Unit | None:
    """The unit ``unit_id`` if ``actor`` can see it; a unit out of scope is as good as absent, so a filter
    naming one matches nothing (it never widens what the caller sees)."""
    if unit_id is None:
        return None
    unit = session.get(Unit, unit_id)
    return unit if unit is not None and (actor.is_admin or actor.can_see(unit.path)) else None
