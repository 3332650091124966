"""The ledger (整改台账 / 综合查询) read model: the problems the caller may see, filtered, paged with
the true total, and the same rows whole for the Excel export. One filter, with the query-argument
names of the page and the API (``round``, ``unit``, ``category``, ``status``, ``colour``,
``supervised``, ``due_by``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Problem, Round
from rectiflow.db.org import Unit
from rectiflow.domain.vocab import ProblemStatus, WarningColour
from rectiflow.i18n import DEFAULT_LOCALE
from rectiflow.read import paging
from rectiflow.read.paging import Page, PageRequest
from rectiflow.read.params import bool_param, date_param, enum_param, id_param, text_param
from rectiflow.read.scope import problem_scope, subtree, visible_unit
from rectiflow.services.accounts.actors import Actor

CATEGORY_MAX = 16  # the column's width
# Round, then the problem's place in the list (一、1、(1)); the id makes the order total.
ORDER = (Problem.round_id, Problem.sort_key, Problem.id)


@dataclass(frozen=True)
class LedgerFilter:
    round: int | None = None
    unit: int | None = None  # this unit and the units below it
    category: str | None = None
    status: ProblemStatus | None = None
    colour: WarningColour | None = None
    supervised: bool | None = None
    due_by: date | None = None  # a deadline on or before this day

    def __post_init__(self) -> None:
        id_param("round", self.round)
        id_param("unit", self.unit)
        text_param("category", self.category, CATEGORY_MAX)
        enum_param("status", self.status, ProblemStatus)
        enum_param("colour", self.colour, WarningColour)
        bool_param("supervised", self.supervised)
        date_param("due_by", self.due_by)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> LedgerFilter:
        return cls(round=id_param("round", args.get("round")), unit=id_param("unit", args.get("unit")),
                   category=text_param("category", args.get("category"), CATEGORY_MAX),
                   status=enum_param("status", args.get("status"), ProblemStatus),
                   colour=enum_param("colour", args.get("colour"), WarningColour),
                   supervised=bool_param("supervised", args.get("supervised")),
                   due_by=date_param("due_by", args.get("due_by")))

    def args(self) -> dict[str, str]:
        """The filters set, as query arguments (the pager's and the export's links)."""
        out: dict[str, str] = {}
        for name in ("round", "unit", "category", "status", "colour", "supervised", "due_by"):
            value = getattr(self, name)
            if value is None:
                continue
            out[name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out


def ledger_query(session: Session, actor: Actor | None, f: LedgerFilter) -> Select[Any]:
    """``actor`` None is the installation's operator (the command line): every unit."""
    q = select(Problem)
    if actor is not None:
        q = q.where(problem_scope(actor))
    if f.round is not None:
        q = q.where(Problem.round_id == f.round)
    if f.unit is not None:
        unit = session.get(Unit, f.unit) if actor is None else visible_unit(session, actor, f.unit)
        if unit is not None:  # a unit out of sight narrows nothing: the scope already holds
            q = q.where(subtree(Problem.unit_path, unit.path))
    if f.category:
        q = q.where(Problem.category == f.category)
    if f.status is not None:
        q = q.where(Problem.status == f.status.value)
    if f.colour is not None:
        q = q.where(Problem.colour == f.colour.value)
    if f.supervised is not None:
        q = q.where(Problem.supervised.is_(f.supervised))
    if f.due_by is not None:
        q = q.where(Problem.deadline <= f.due_by)
    return q


def ledger_page(session: Session, actor: Actor, f: LedgerFilter, req: PageRequest) -> Page[Problem]:
    return paging.fetch(session, ledger_query(session, actor, f), ORDER, req)


@dataclass
class LedgerSummary:
    """What the ledger page shows around its rows: counts of the filtered set, and the filter choices."""

    by_colour: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    rounds: list[Round] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    total_visible: int = 0  # before the filters: tells "nothing registered yet" from "nothing matches"


def ledger_summary(session: Session, actor: Actor, f: LedgerFilter) -> LedgerSummary:
    sub = ledger_query(session, actor, f).subquery()
    scope = problem_scope(actor)
    return LedgerSummary(
        by_colour={c: n for c, n in session.execute(select(sub.c.colour, func.count()).group_by(sub.c.colour))},
        by_status={c: n for c, n in session.execute(select(sub.c.status, func.count()).group_by(sub.c.status))},
        rounds=list(session.scalars(select(Round).where(Round.id.in_(select(Problem.round_id).where(scope)))
                                    .order_by(Round.year.desc(), Round.number.desc(), Round.id.desc()))),
        categories=sorted(session.scalars(select(Problem.category).where(scope).distinct())),
        total_visible=session.scalar(select(func.count(Problem.id)).where(scope)) or 0,
    )


def export_rows(session: Session, actor: Actor | None, f: LedgerFilter) -> list[dict[str, Any]]:
    """Every row of the filter (no page: the export holds them all), as plain data, in the page's order."""
    q = ledger_query(session, actor, f).add_columns(Round).join(Round, Round.id == Problem.round_id)
    rows = [(p, r) for p, r in session.execute(q.order_by(*ORDER))]
    dept_ids = {p.department_id for p, _ in rows if p.department_id}
    depts = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(dept_ids)))} if dept_ids else {}
    out = []
    for p, r in rows:
        dept = depts.get(p.department_id) if p.department_id else None
        out.append({
            "id": p.id, "round_id": r.id, "round_title": r.title, "number": p.number, "aspect": p.aspect,
            "category": p.category, "domain_tag": p.domain_tag, "feedback_text": p.feedback_text,
            "department": dept.name if dept else "", "department_code": dept.code if dept else "",
            "status": p.status, "status_label": ProblemStatus.label_of(p.status, DEFAULT_LOCALE), "colour": p.colour,
            "deadline": p.deadline.isoformat() if p.deadline else None, "yellow_count": p.yellow_count,
            "red_count": p.red_count, "returned_count": p.returned_count, "supervised": p.supervised,
            "long_term": p.long_term, "closed_at": p.closed_at.isoformat() if p.closed_at else None,
            "instance_id": p.instance_id,
        })
    return out
