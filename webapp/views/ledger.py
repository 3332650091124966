"""综合查询: the problems the caller may see, filtered by round, unit, category, status, colour,
supervision and deadline, paged with the true total (``rectiflow.read.ledger``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from rectiflow.domain.vocab import ProblemStatus, WarningColour
from rectiflow.read import ledger as read_ledger
from rectiflow.read.ledger import LedgerFilter
from rectiflow.read.problems import visible_problem
from rectiflow.read.scope import visible_units
from webapp.paging import link_args, page_request
from webapp.web import actor, db

bp = Blueprint("ledger", __name__, url_prefix="/ledger")


@bp.route("/")
def index() -> Any:
    a, s = actor(), db()
    f = LedgerFilter.from_args(request.args)
    page = read_ledger.ledger_page(s, a, f, page_request())
    summary = read_ledger.ledger_summary(s, a, f)
    filter_args = f.args()
    return render_template(
        "ledger.html",
        page=page,
        summary=summary,
        filters=f,
        filter_args=filter_args,
        pager_args=link_args(filter_args, page),
        units=visible_units(s, a),
        colours=WarningColour.codes(),
        statuses=ProblemStatus.codes(),
    )


@bp.route("/problems/<int:problem_id>")
def problem(problem_id: int) -> Any:
    p = visible_problem(db(), actor(), problem_id)
    return redirect(url_for("problems.show", problem_id=p.id))
