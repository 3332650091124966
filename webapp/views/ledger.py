"""综合查询: the problems the caller may see, filtered by round, unit, category, status, colour and
supervision, with counts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import Select, func, select, true

from rectiflow.db.domain import Problem, Round
from rectiflow.errors import NotFound
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.chain import ledger as chain_ledger
from rectiflow.services.chain import rounds as chain
from webapp.views.inbox import visible_units
from webapp.web import actor, db

bp = Blueprint("ledger", __name__, url_prefix="/ledger")
COLOURS = ("none", "green", "yellow", "red")
STATUSES = tuple(chain.PROBLEM_STATUSES)


def scope_condition(a: Actor) -> Any:
    """``chain_ledger.problem_scope`` as a WHERE clause (everything for an administrator)."""
    scope = chain_ledger.problem_scope(a)
    return true() if scope is None else scope


def problem_query(a: Actor, args: Any) -> Select[Any]:
    q = select(Problem).where(scope_condition(a))
    if (rid := args.get("round", "")).isdigit():
        q = q.where(Problem.round_id == int(rid))
    if (unit_path := args.get("unit", "")).startswith("/") and a.can_see(unit_path):
        q = q.where(Problem.unit_path >= unit_path, Problem.unit_path < unit_path + "\uffff")
    if category := args.get("category", ""):
        q = q.where(Problem.category == category)
    if args.get("status") in STATUSES:
        q = q.where(Problem.status == args["status"])
    if args.get("colour") in COLOURS:
        q = q.where(Problem.colour == args["colour"])
    if args.get("supervised") in ("1", "0"):
        q = q.where(Problem.supervised.is_(args["supervised"] == "1"))
    return q


def visible_problem(problem_id: int, a: Actor) -> Problem:
    p = db().get(Problem, problem_id)
    if p is None or not a.can_see(p.unit_path):
        raise NotFound("problem not found")
    return p


@bp.route("/")
def index() -> Any:
    a, s = actor(), db()
    q = problem_query(a, request.args)
    rows = list(s.scalars(q.order_by(Problem.round_id, Problem.sort_key).limit(1000)))
    sub = q.subquery()
    by_colour: dict[str, int] = dict(s.execute(select(sub.c.colour, func.count()).group_by(sub.c.colour)).all())
    by_status: dict[str, int] = dict(s.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all())
    visible = select(Problem.round_id).where(scope_condition(a))
    rounds = list(s.scalars(select(Round).where(Round.id.in_(visible))
                            .order_by(Round.year.desc(), Round.number.desc())))
    categories = sorted(s.scalars(select(Problem.category).where(scope_condition(a)).distinct()))
    total_visible = s.scalar(select(func.count(Problem.id)).where(scope_condition(a))) or 0
    return render_template(
        "ledger.html",
        rows=rows,
        rounds=rounds,
        units=visible_units(a),
        categories=categories,
        by_colour=by_colour,
        by_status=by_status,
        args=request.args,
        colours=COLOURS,
        statuses=STATUSES,
        total_visible=total_visible,
    )


@bp.route("/problems/<int:problem_id>")
def problem(problem_id: int) -> Any:
    p = visible_problem(problem_id, actor())
    return redirect(url_for("problems.show", problem_id=p.id))
