"""统计分析: figures and charts over the problems the caller may see (``rectiflow.read.statistics``).
The tables carry every number; the ECharts charts (served locally) draw the same data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from rectiflow.domain.vocab import ProblemStatus, WarningColour
from rectiflow.read import statistics
from rectiflow.read.rounds import visible_rounds
from webapp.labels import labels_of
from webapp.web import actor, db, runtime

bp = Blueprint("stats", __name__, url_prefix="/stats")


def _choice(name: str, choices: set[int]) -> int | None:
    """The page's selects offer only the caller's rounds and years: anything else (a stale bookmark,
    a hand-edited link) shows every figure rather than an error page."""
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) <= 19 and int(raw) in choices else None


@bp.route("/")
def index() -> Any:
    a, s = actor(), db()
    rounds = visible_rounds(s, a)
    f = statistics.StatsFilter(round=_choice("round", {r.id for r, _u in rounds}),
                               year=_choice("year", {r.year for r, _u in rounds}))
    ov, leads = statistics.figures(s, a, runtime().clock.today(), f)
    chart = ov.as_dict()
    chart["labels"] = {"status": labels_of(ProblemStatus), "colour": labels_of(WarningColour)}
    return render_template("stats.html", ov=ov, chart=chart, rounds=rounds, round_id=f.round, year=f.year,
                           years=sorted({r.year for r, _u in rounds}, reverse=True), leads=leads)
