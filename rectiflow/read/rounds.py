"""Inspection rounds (巡察轮次) the caller may see: those of a unit in their subtrees, and those with one
of their problems (a department sees its own problems' rounds). Out of scope is a 404."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import Session

from rectiflow.db.domain import Problem, Round
from rectiflow.db.org import Unit
from rectiflow.domain.vocab import RoundStatus
from rectiflow.errors import NotFound
from rectiflow.i18n import N_
from rectiflow.read import paging
from rectiflow.read.paging import Page, PageRequest
from rectiflow.read.params import enum_param, id_param, int_param
from rectiflow.read.scope import problem_scope, subtree
from rectiflow.services.accounts.actors import Actor

YEARS = (1990, 2200)  # the years a round may carry (the round form's bounds)
# Newest first; the id makes the order total.
ORDER = (Round.year.desc(), Round.number.desc(), Round.id.desc())


@dataclass(frozen=True)
class RoundFilter:
    year: int | None = None
    status: RoundStatus | None = None

    def __post_init__(self) -> None:
        int_param("year", self.year, *YEARS)
        enum_param("status", self.status, RoundStatus)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> RoundFilter:
        return cls(year=int_param("year", args.get("year"), *YEARS),
                   status=enum_param("status", args.get("status"), RoundStatus))

    def args(self) -> dict[str, str]:
        return {k: str(v) for k, v in (("year", self.year), ("status", self.status)) if v is not None}


def _visible(actor: Actor) -> Any:
    if actor.is_admin:
        return true()
    own = select(Problem.round_id).where(problem_scope(actor))
    return or_(Round.id.in_(own), *[subtree(Unit.path, g.unit_path) for g in actor.grants])


def rounds_query(actor: Actor, f: RoundFilter | None = None) -> Select[Round, Unit]:
    f = f or RoundFilter()
    q = select(Round, Unit).join(Unit, Unit.id == Round.unit_id).where(_visible(actor))
    if f.year is not None:
        q = q.where(Round.year == f.year)
    if f.status is not None:
        q = q.where(Round.status == f.status.value)
    return q


def visible_rounds(session: Session, actor: Actor, f: RoundFilter | None = None) -> list[tuple[Round, Unit]]:
    """Every round ``actor`` may see (the choices of a filter: a short list, one per inspection)."""
    return [(r, u) for r, u in session.execute(rounds_query(actor, f).order_by(*ORDER))]


def rounds_page(session: Session, actor: Actor, f: RoundFilter, req: PageRequest) -> Page[tuple[Round, Unit]]:
    """A page of ``(Round, Unit)`` rows."""
    page = paging.fetch(session, rounds_query(actor, f), ORDER, req, scalars=False)
    return page.map(lambda row: (row[0], row[1]))


def visible_years(session: Session, actor: Actor) -> list[int]:
    """The years of the rounds ``actor`` may see, newest first (the year filter's choices)."""
    q = rounds_query(actor).with_only_columns(Round.year).distinct()
    return sorted(session.scalars(q), reverse=True)


def visible_round(session: Session, actor: Actor, round_id: int) -> tuple[Round, Unit]:
    id_param("round_id", round_id)
    row = session.execute(rounds_query(actor).where(Round.id == round_id)).first()
    if row is None:
        raise NotFound(N_("Round not found."))
    return row[0], row[1]


def sees_whole_round(actor: Actor, unit: Unit) -> bool:
    """Whoever works in the round's unit or above sees all its problems; a department only its own."""
    return actor.is_admin or actor.can_see(unit.path)


def round_problems(session: Session, actor: Actor, rnd: Round, unit: Unit) -> list[Problem]:
    q = select(Problem).where(Problem.round_id == rnd.id)
    if not sees_whole_round(actor, unit):
        q = q.where(problem_scope(actor))
    return list(session.scalars(q.order_by(Problem.sort_key, Problem.id)))


def problem_counts(session: Session, actor: Actor, round_ids: list[int]) -> dict[int, int]:
    """Per round, the problems ``actor`` may see."""
    if not round_ids:
        return {}
    q = (select(Problem.round_id, func.count()).where(Problem.round_id.in_(round_ids), problem_scope(actor))
         .group_by(Problem.round_id))
    return {rid: n for rid, n in session.execute(q)}


def taxonomy_labels(taxonomy: list[Any] | None) -> dict[str, str]:
    """Category code → name, over the round's whole category tree."""
    out: dict[str, str] = {}

    def walk(nodes: Any) -> None:
        for n in nodes or []:
            if isinstance(n, dict) and n.get("code"):
                out[str(n["code"])] = str(n.get("name", ""))
                walk(n.get("children"))

    walk(taxonomy)
    return out
