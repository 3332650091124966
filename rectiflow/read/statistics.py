"""统计分析: the rectification database seen as figures, for the problems the caller may see.

Everything is computed from the same rows as the ledger (no second copy of the data): problems and
measures by status, by inspected unit and by category, closures per month, how often items went
yellow or red, and the *recurring* problems (普遍性、规律性问题): a category or a business domain
found in two or more inspected units, or in two or more rounds of the same unit. Those are the
focus points the paper asks to hand to the next round (精准巡察).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.domain import Measure, Problem, Round
from rectiflow.db.org import Unit
from rectiflow.domain.vocab import MeasureStatus, ProblemStatus
from rectiflow.errors import NotFound
from rectiflow.i18n import N_
from rectiflow.read.params import id_param, int_param
from rectiflow.read.rounds import YEARS, visible_rounds
from rectiflow.read.scope import problem_scope
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.chain import leads as chain_leads

BUSINESS_MONTHS = 12


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    name: str
    total: int
    closed: int
    overdue: int
    supervised: int

    @property
    def rate(self) -> float:
        return self.closed / self.total if self.total else 0.0


@dataclass(frozen=True)
class CategoryRow:
    key: str  # a category code or a domain tag
    label: str
    kind: str  # "category" | "domain"
    total: int
    units: int
    rounds: int
    recurring: bool


@dataclass
class Overview:
    problems: int = 0
    closed: int = 0
    overdue: int = 0
    supervised: int = 0
    long_term_open: int = 0
    measures: int = 0
    measures_done: int = 0
    yellow_times: int = 0
    red_times: int = 0
    returned_times: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_colour: dict[str, int] = field(default_factory=dict)
    by_unit: list[UnitRow] = field(default_factory=list)
    by_category: list[CategoryRow] = field(default_factory=list)
    closures_by_month: list[tuple[str, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.closed / self.problems if self.problems else 0.0

    @property
    def recurring(self) -> list[CategoryRow]:
        return [c for c in self.by_category if c.recurring]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the charts (and the API)."""
        return {
            "problems": self.problems, "closed": self.closed, "rate": round(self.rate, 4),
            "overdue": self.overdue, "supervised": self.supervised, "long_term_open": self.long_term_open,
            "measures": self.measures, "measures_done": self.measures_done,
            "yellow_times": self.yellow_times, "red_times": self.red_times, "returned_times": self.returned_times,
            "by_status": self.by_status, "by_colour": self.by_colour,
            "by_unit": [{"name": u.name, "total": u.total, "closed": u.closed, "overdue": u.overdue}
                        for u in self.by_unit],
            "by_category": [{"key": c.key, "label": c.label, "kind": c.kind, "total": c.total, "units": c.units,
                             "rounds": c.rounds, "recurring": c.recurring} for c in self.by_category],
            "closures_by_month": [{"month": m, "closed": n} for m, n in self.closures_by_month],
        }


def _labels(taxonomy: Any, out: dict[str, str]) -> None:
    for node in taxonomy or []:
        if isinstance(node, dict) and node.get("code"):
            out.setdefault(str(node["code"]), str(node.get("name", "")))
            _labels(node.get("children"), out)


def _months_back(today: date, n: int) -> list[str]:
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(out))


def overview(session: Session, actor: Actor, today: date, *, round_id: int | None = None,
             year: int | None = None, local_month: Callable[[datetime], str] | None = None) -> Overview:
    """The figures for ``actor``'s problems, optionally of one round or one year's rounds.

    ``local_month(datetime) -> "YYYY-MM"`` places a closure in the business time zone's month (the
    caller knows it; the core does not guess)."""
    q = select(Problem, Round).join(Round, Round.id == Problem.round_id)
    q = q.where(problem_scope(actor))
    if round_id is not None:
        q = q.where(Problem.round_id == round_id)
    if year is not None:
        q = q.where(Round.year == year)
    rows = session.execute(q).all()
    out = Overview()
    if not rows:
        out.closures_by_month = [(m, 0) for m in _months_back(today, BUSINESS_MONTHS)]
        return out
    labels: dict[str, str] = {}
    per_unit: dict[int, list[tuple[Problem, bool]]] = defaultdict(list)  # (problem, overdue)
    seen: dict[tuple[str, str], tuple[set[int], set[int], int]] = {}
    closures: Counter[str] = Counter()
    for p, r in rows:
        _labels(r.taxonomy, labels)
        out.problems += 1
        out.by_status[p.status] = out.by_status.get(p.status, 0) + 1
        out.by_colour[p.colour] = out.by_colour.get(p.colour, 0) + 1
        closed = p.status == ProblemStatus.CLOSED
        overdue = not closed and p.deadline is not None and p.deadline < today and not p.long_term
        out.closed += closed
        out.overdue += overdue
        out.supervised += p.supervised
        out.long_term_open += bool(p.long_term and not closed)
        out.yellow_times += p.yellow_count
        out.red_times += p.red_count
        out.returned_times += p.returned_count
        per_unit[r.unit_id].append((p, overdue))  # the inspected unit (the problem's own unit is its department)
        for kind, key in (("category", p.category), ("domain", p.domain_tag)):
            if not key:
                continue
            units, rounds, n = seen.get((kind, key), (set(), set(), 0))
            units.add(r.unit_id)
            rounds.add(p.round_id)
            seen[(kind, key)] = (units, rounds, n + 1)
        if closed and p.closed_at is not None:
            month = local_month(p.closed_at) if local_month else p.closed_at.strftime("%Y-%m")
            closures[month] += 1
    ids = [p.id for p, _ in rows]
    for k in range(0, len(ids), 500):  # measures count as well as problems
        chunk = ids[k:k + 500]
        for status, in session.execute(select(Measure.status).where(Measure.problem_id.in_(chunk))):
            out.measures += 1
            out.measures_done += status in (MeasureStatus.DONE, MeasureStatus.ACCEPTED)
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(list(per_unit)))).all())
    out.by_unit = sorted(
        (UnitRow(uid, names.get(uid, str(uid)), len(ps), sum(p.status == ProblemStatus.CLOSED for p, _ in ps),
                 sum(late for _, late in ps), sum(p.supervised for p, _ in ps)) for uid, ps in per_unit.items()),
        key=lambda u: (-u.total, u.name))
    out.by_category = sorted(
        (CategoryRow(key, labels.get(key, key) if kind == "category" else key, kind, n, len(units), len(rounds),
                     len(units) >= 2 or len(rounds) >= 2)
         for (kind, key), (units, rounds, n) in seen.items()),
        key=lambda c: (not c.recurring, -c.total, c.kind, c.key))
    out.closures_by_month = [(m, closures.get(m, 0)) for m in _months_back(today, BUSINESS_MONTHS)]
    return out


@dataclass(frozen=True)
class StatsFilter:
    round: int | None = None
    year: int | None = None

    def __post_init__(self) -> None:
        id_param("round", self.round)
        int_param("year", self.year, *YEARS)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> StatsFilter:
        return cls(round=id_param("round", args.get("round")), year=int_param("year", args.get("year"), *YEARS))


def business_month(moment: datetime) -> str:
    """The month of ``moment`` on the business calendar (Beijing), "YYYY-MM"."""
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m")


def figures(session: Session, actor: Actor, today: date, f: StatsFilter,
            local_month: Callable[[datetime], str] = business_month) -> tuple[Overview, int | None]:
    """The overview and the leads count (None: not for this caller) over the rounds ``actor`` may see,
    narrowed to one round or one year; a round the caller cannot see is a 404. Shared by the statistics
    page and ``GET /api/v1/stats``."""
    rounds = visible_rounds(session, actor)
    if f.round is not None and f.round not in {r.id for r, _u in rounds}:
        raise NotFound(N_("Round not found."))
    ov = overview(session, actor, today, round_id=f.round, year=f.year, local_month=local_month)
    chosen = [r.id for r, _u in rounds if f.round in (None, r.id) and f.year in (None, r.year)]
    return ov, chain_leads.count_visible(session, actor, chosen)  # leads: counted apart, for who handles them
