"""统计分析: figures and charts over the problems the caller may see (``rectiflow.services.statistics``).
The tables carry every number; the ECharts charts (served locally) draw the same data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request

from rectiflow.clock import BUSINESS_TZ
from rectiflow.services import chain_leads, statistics
from webapp.labels import COLOUR, PROBLEM_STATUS
from webapp.views.rounds import visible_rounds
from webapp.web import actor, db, runtime

bp = Blueprint("stats", __name__, url_prefix="/stats")


def business_month(moment: datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m")


def _int_arg(name: str, choices: set[int]) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) in choices else None


@bp.route("/")
def index() -> Any:
    a = actor()
    rounds = sorted(visible_rounds(a), key=lambda ru: (-ru[0].year, -ru[0].number, -ru[0].id))
    round_id = _int_arg("round", {r.id for r, _u in rounds})
    year = _int_arg("year", {r.year for r, _u in rounds})
    today = runtime().clock.now().astimezone(BUSINESS_TZ).date()
    ov = statistics.overview(db(), a, today, round_id=round_id, year=year, local_month=business_month)
    chart = ov.as_dict()
    chart["labels"] = {"status": {k: str(v) for k, v in PROBLEM_STATUS.items()},
                       "colour": {k: str(v) for k, v in COLOUR.items()}}
    chosen = [r.id for r, _u in rounds if round_id in (None, r.id) and year in (None, r.year)]
    leads = chain_leads.count_visible(db(), a, chosen)  # counted separately, and only for who handles them
    return render_template("stats.html", ov=ov, chart=chart, rounds=rounds, round_id=round_id, year=year,
                           years=sorted({r.year for r, _u in rounds}, reverse=True), leads=leads)
