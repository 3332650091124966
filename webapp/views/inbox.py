"""The inbox: tasks given to me, plus unclaimed tasks of my roles within my units. One query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, and_, false, func, or_, select

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.runtime import UserTask
from rectiflow.domain.deadlines import Thresholds, colour
from rectiflow.services import tasks as task_service
from rectiflow.services.actors import Actor
from webapp.web import actor, db, runtime

bp = Blueprint("inbox", __name__)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def visible_condition(a: Actor) -> Any:
    """Assigned to me, or unassigned and matching one of my (role, unit subtree) grants."""
    grants = [
        and_(UserTask.role == g.role, UserTask.unit_path.like(_like_prefix(g.unit_path), escape="\\"))
        for g in a.grants
    ]
    mine = UserTask.assignee_id == a.user_id
    return or_(mine, and_(UserTask.assignee_id.is_(None), or_(*grants) if grants else false()))


def inbox_query(
    a: Actor, *, count: bool = False, process: str = "", due: str = "", now: datetime | None = None
) -> Select[Any]:
    q = select(func.count(UserTask.id)) if count else select(UserTask)
    q = q.where(UserTask.status == "ready", visible_condition(a))
    if process:
        q = q.where(UserTask.process_key == process)
    if due and now is not None:
        if due == "overdue":
            q = q.where(UserTask.due_at < now)
        elif due == "week":
            q = q.where(UserTask.due_at >= now, UserTask.due_at < now + timedelta(days=7))
    if not count:
        q = q.order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at, UserTask.id)
    return q


@dataclass
class Due:
    colour: str  # none|green|yellow|red|nodate
    label: str
    days: int | None


def due_info(due_at: datetime | None, now: datetime) -> Due:
    if due_at is None:
        return Due("nodate", _("No deadline"), None)
    today = now.astimezone(BUSINESS_TZ).date()
    deadline = due_at.astimezone(BUSINESS_TZ).date()
    # A due instant at midnight Beijing belongs to the day before (end of that day).
    if due_at.astimezone(BUSINESS_TZ).time() == datetime.min.time():
        deadline = deadline - timedelta(days=1)
    left = (deadline - today).days
    c = colour(deadline, today, Thresholds())
    if left < 0:
        label = ngettext("%(num)d day overdue", "%(num)d days overdue", -left)
    elif left == 0:
        label = _("Due today")
    else:
        label = ngettext("%(num)d day left", "%(num)d days left", left)
    return Due(c, label, left)


@bp.route("/")
def index() -> Any:
    a = actor()
    rt = runtime()
    now = rt.clock.now()
    process = request.args.get("process", "")
    due = request.args.get("due", "")
    if due not in ("", "overdue", "week"):
        due = ""
    s = db()
    rows = list(s.scalars(inbox_query(a, process=process, due=due, now=now)))
    processes = sorted(
        set(
            s.scalars(
                select(UserTask.process_key)
                .where(UserTask.status == "ready", visible_condition(a))
                .distinct()
            )
        )
    )
    items = [(t, due_info(t.due_at, now)) for t in rows]
    return render_template("inbox.html", items=items, processes=processes, process=process, due=due)


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
def claim(task_id: str) -> Any:
    task_service.claim(db(), runtime(), task_id, actor())
    flash(_("You have claimed this task; it now waits only for you."), "success")
    return redirect(
        request.form.get("back") == "task" and url_for("task.show", task_id=task_id) or url_for("inbox.index")
    )


@bp.route("/tasks/<task_id>/release", methods=["POST"])
def release(task_id: str) -> Any:
    task_service.release(db(), runtime(), task_id, actor())
    flash(_("Task released back to everyone holding its role."), "success")
    return redirect(
        request.form.get("back") == "task" and url_for("task.show", task_id=task_id) or url_for("inbox.index")
    )
