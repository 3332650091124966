"""统计分析: figures and charts over the problems the caller may see (``rectiflow.services.statistics``).
The tables carry every number; the ECharts charts (served locally) draw the same data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.domain import Round
from rectiflow.db.org import Unit
from rectiflow.services import statistics
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.chain import leads as chain_leads
from webapp.labels import COLOUR, PROBLEM_STATUS
from webapp.views.rounds import visible_rounds
from webapp.web import actor, db, runtime

bp = Blueprint("stats", __name__, url_prefix="/stats")


def business_month(moment: datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m")


def _int_arg(name: str, choices: set[int]) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) in choices else None


def figures(a: Actor, rounds: list[tuple[Round, Unit]], round_id: int | None,
            year: int | None) -> tuple[statistics.Overview, int | None]:
    """The overview and the leads count (None: not for this caller) over the caller's ``rounds``,
    narrowed to one round or one year; shared by this page and ``GET /api/v1/stats``."""
    today = runtime().clock.now().astimezone(BUSINESS_TZ).date()
    ov = statistics.overview(db(), a, today, round_id=round_id, year=year, local_month=business_month)
    chosen = [r.id for r, _u in rounds if round_id in (None, r.id) and year in (None, r.year)]
    return ov, chain_leads.count_visible(db(), a, chosen)  # leads: counted separately, for who handles them


@bp.route("/")
def index() -> Any:
    a = actor()
    rounds = sorted(visible_rounds(a), key=lambda ru: (-ru[0].year, -ru[0].number, -ru[0].id))
    round_id = _int_arg("round", {r.id for r, _u in rounds})
    year = _int_arg("year", {r.year for r, _u in rounds})
    ov, leads = figures(a, rounds, round_id, year)
    chart = ov.as_dict()
    chart["labels"] = {"status": {k: str(v) for k, v in PROBLEM_STATUS.items()},
                       "colour": {k: str(v) for k, v in COLOUR.items()}}
    return render_template("stats.html", ov=ov, chart=chart, rounds=rounds, round_id=round_id, year=year,
                           years=sorted({r.year for r, _u in rounds}, reverse=True), leads=leads)
