"""The inbox: tasks given to me, plus unclaimed tasks of my roles within my units. One query, the
core's (``rectiflow.services.inbox``), with the page's process and deadline filters on top."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, func, select

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.runtime import UserTask
from rectiflow.domain.deadlines import Thresholds, colour
from rectiflow.roles import role_label
from rectiflow.services import inbox as core_inbox
from rectiflow.services import tasks as task_service
from rectiflow.services.actors import Actor
from rectiflow.services.inbox import InboxFilter
from webapp.i18n import current_locale
from webapp.web import actor, db, nav_counts, runtime

bp = Blueprint("inbox", __name__)
PAGE_SIZE = 50  # a page people can scan; the filters and the deadline order bring the urgent ones first


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def inbox_query(
    a: Actor, *, count: bool = False, process: str = "", due: str = "", now: datetime | None = None
) -> Select[Any]:
    """The core inbox query (``rectiflow.services.inbox``, index-friendly) with the page's filters."""
    f = InboxFilter(
        process_key=process or None,
        overdue_at=now if due == "overdue" and now is not None else None,
        due_before=now + timedelta(days=7) if due == "week" and now is not None else None,
    )
    q = core_inbox.inbox_query(a, f)
    if due == "week" and now is not None:
        q = q.where(UserTask.due_at >= now)
    if count:
        return select(func.count()).select_from(q.subquery())
    return q.order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at, UserTask.id)


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
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    s = db()
    if process or due:
        total = s.scalar(inbox_query(a, count=True, process=process, due=due, now=now)) or 0
    else:  # unfiltered, the total is the navigation's inbox counter: count once per request
        total = nav_counts()["inbox"]
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    # Plain rows of only what the table shows: building ORM objects (identity map, JSON columns) for
    # every row cost more than the query itself.
    ids = inbox_query(a, process=process, due=due, now=now).with_only_columns(UserTask.id)
    page_ids = ids.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).subquery()
    cols = (UserTask.id, UserTask.title, UserTask.name, UserTask.instance_id, UserTask.process_key, UserTask.role,
            UserTask.due_at, UserTask.assignee_id)
    rows = list(s.execute(select(*cols).join(page_ids, page_ids.c.id == UserTask.id)
                          .order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at, UserTask.id)))
    mine = core_inbox.inbox_query(a).subquery()
    processes = sorted(set(s.scalars(select(mine.c.process_key).distinct())))
    # Per-row work done once per distinct value: translated labels and URL prefixes (the page shows
    # hundreds of rows; gettext and url_for per cell cost more than the query).
    dues: dict[Any, Due] = {}
    items = []
    for t in rows:
        key = t.due_at
        if key not in dues:
            dues[key] = due_info(t.due_at, now)
        items.append((t, dues[key]))
    loc = current_locale()
    roles = {t.role: role_label(t.role, loc) for t in rows}
    urls = {
        "task": url_for("task.show", task_id="_")[:-1],
        "instance": url_for("instances.show", instance_id=0)[:-1],
        "claim": url_for("inbox.claim", task_id="_")[:-len("_/claim")],
    }
    return render_template(
        "inbox.html", items=items, processes=processes, process=process, due=due, roles=roles, urls=urls,
        page=page, pages=pages, total=total,
    )


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
