"""巡察轮次: the list of rounds, and one round with its feedback, its plan, the three lists (问题清单,
任务清单, 责任清单: three views of the same problems and measures) and its report milestones.

A round is visible to whoever works in its unit or above it, and to a department with one of its
problems; a department sees only its own problems in the lists. Out of scope is a 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.domain import Measure, Problem, ReportMilestone, Round
from rectiflow.db.org import Unit, User
from rectiflow.errors import NotFound
from rectiflow.services.accounts.actors import Actor
from webapp.views.ledger import scope_condition
from webapp.web import actor, db, runtime

bp = Blueprint("rounds", __name__, url_prefix="/rounds")
ROUND_STATUS = {
    "feedback": _l("Feedback issued"),
    "planning": _l("Drafting the plan"),
    "rectifying": _l("Rectifying"),
    "closed": _l("Closed"),
}
REPORT_KINDS = {
    "plan": _l("Rectification plan"),
    "rectification_report": _l("Rectification report (3 months)"),
    "leader_report": _l("Principal leader's implementation report"),
    "phased_report": _l("Phased report (6 months)"),
    "annual_report": _l("Annual report"),
}
REPORT_STATUS = {
    "pending": _l("Not yet submitted"),
    "submitted": _l("Submitted"),
    "accepted": _l("Accepted"),
    "overdue": _l("Overdue"),
}


def taxonomy_labels(taxonomy: list[Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(nodes: Any) -> None:
        for n in nodes or []:
            if isinstance(n, dict) and n.get("code"):
                out[str(n["code"])] = str(n.get("name", ""))
                walk(n.get("children"))

    walk(taxonomy)
    return out


def visible_rounds(a: Actor) -> list[tuple[Round, Unit]]:
    s = db()
    rows = [(r, u) for r, u in s.execute(select(Round, Unit).join(Unit, Unit.id == Round.unit_id))]
    own = {rid for rid in s.scalars(select(Problem.round_id).where(scope_condition(a)).distinct())}
    return [(r, u) for r, u in rows if a.is_admin or a.can_see(u.path) or r.id in own]


def visible_round(round_id: int, a: Actor) -> tuple[Round, Unit]:
    s = db()
    row = s.execute(select(Round, Unit).join(Unit, Unit.id == Round.unit_id).where(Round.id == round_id)).first()
    if row is None:
        raise NotFound("round not found")
    rnd, unit = row
    if a.is_admin or a.can_see(unit.path):
        return rnd, unit
    if s.scalar(select(Problem.id).where(Problem.round_id == rnd.id, scope_condition(a)).limit(1)) is None:
        raise NotFound("round not found")
    return rnd, unit


@bp.route("/")
def index() -> Any:
    a, s = actor(), db()
    rounds = sorted(visible_rounds(a), key=lambda ru: (-ru[0].year, -ru[0].number, -ru[0].id))
    counts: dict[int, int] = {}
    if rounds:
        ids = [r.id for r, _u in rounds]
        for rid in s.scalars(select(Problem.round_id).where(Problem.round_id.in_(ids), scope_condition(a))):
            counts[rid] = counts.get(rid, 0) + 1
    return render_template("rounds.html", rounds=rounds, counts=counts, round_status=ROUND_STATUS)


@bp.route("/<int:round_id>")
def show(round_id: int) -> Any:
    return round_page(round_id)


def round_page(round_id: int, oversight_form: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The round page; ``oversight_form`` carries a refused assessment or accountability form back
    with its values and messages (``webapp.views.round_oversight``)."""
    from webapp.views.round_oversight import oversight_panel

    a, s = actor(), db()
    rnd, unit = visible_round(round_id, a)
    q = select(Problem).where(Problem.round_id == rnd.id).order_by(Problem.sort_key)
    if not (a.is_admin or a.can_see(unit.path)):
        q = q.where(scope_condition(a))
    problems = list(s.scalars(q))
    pids = [p.id for p in problems]
    measures = (list(s.scalars(select(Measure).where(Measure.problem_id.in_(pids)).order_by(Measure.seq)))
                if pids else [])
    by_problem: dict[int, list[Measure]] = {}
    for m in measures:
        by_problem.setdefault(m.problem_id, []).append(m)
    unit_ids = {m.department_id for m in measures} | {p.department_id for p in problems if p.department_id}
    units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    user_ids = {m.leader_id for m in measures if m.leader_id} | {m.owner_id for m in measures if m.owner_id}
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    milestones = list(
        s.scalars(select(ReportMilestone).where(ReportMilestone.round_id == rnd.id).order_by(ReportMilestone.due_date))
    )
    return render_template(
        "round.html",
        rnd=rnd,
        unit=unit,
        problems=problems,
        measures=by_problem,
        units=units,
        users=users,
        milestones=milestones,
        categories=taxonomy_labels(rnd.taxonomy),
        today=runtime().clock.now().astimezone(BUSINESS_TZ).date(),
        round_status=ROUND_STATUS,
        report_kinds=REPORT_KINDS,
        report_status=REPORT_STATUS,
        oversight=oversight_panel(rnd, unit, a, oversight_form),
    ), status
