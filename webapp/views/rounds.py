"""巡察轮次: the list of rounds (filtered by year and status, paged), and one round (``webapp.round_page``).

A round is visible to whoever works in its unit or above it, and to a department with one of its
problems; a department sees only its own problems in the lists (``rectiflow.read.rounds``). Out of
scope is a 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from rectiflow.domain.vocab import RoundStatus
from rectiflow.read import rounds as read_rounds
from rectiflow.read.rounds import RoundFilter
from webapp.labels import labels_of
from webapp.paging import link_args, page_request
from webapp.round_page import round_page
from webapp.web import actor, db

bp = Blueprint("rounds", __name__, url_prefix="/rounds")


@bp.route("/")
def index() -> Any:
    a, s = actor(), db()
    f = RoundFilter.from_args(request.args)
    page = read_rounds.rounds_page(s, a, f, page_request())
    counts = read_rounds.problem_counts(s, a, [r.id for r, _u in page.rows])
    filter_args = f.args()
    return render_template("rounds.html", page=page, counts=counts, filters=f, pager_args=link_args(filter_args, page),
                           years=read_rounds.visible_years(s, a), round_status=labels_of(RoundStatus))


@bp.route("/<int:round_id>")
def show(round_id: int) -> Any:
    return round_page(round_id)
