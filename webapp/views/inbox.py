"""The inbox: tasks given to me, plus unclaimed tasks of my roles within my units. One query, the
core's (``rectiflow.services.inbox``), with the page's process, deadline, round and unit filters on top,
and the filter sets a user saves under a name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, and_, func, or_, select

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.domain import Round
from rectiflow.db.org import Unit, User
from rectiflow.db.runtime import UserTask
from rectiflow.domain.deadlines import Thresholds, colour
from rectiflow.errors import InvalidInput
from rectiflow.roles import role_label
from rectiflow.services import inbox as core_inbox
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.inbox import InboxFilter
from rectiflow.services.workflow import tasks as task_service
from webapp.i18n import current_locale
from webapp.web import actor, db, nav_counts, runtime

bp = Blueprint("inbox", __name__)
PAGE_SIZE = 50  # a page people can scan; the filters and the deadline order bring the urgent ones first


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def inbox_query(
    a: Actor, *, count: bool = False, process: str = "", due: str = "", now: datetime | None = None,
    round_id: int | None = None, unit_path: str | None = None,
) -> Select[Any]:
    """The core inbox query (``rectiflow.services.inbox``, index-friendly) with the page's filters."""
    f = InboxFilter(
        process_key=process or None,
        overdue_at=now if due == "overdue" and now is not None else None,
        due_before=now + timedelta(days=7) if due == "week" and now is not None else None,
        round_id=round_id,
        unit_path=unit_path,
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


def visible_units(a: Actor) -> list[Unit]:
    """The units the caller can see: every unit under one of their grants (a prefix range per grant)."""
    paths = sorted({g.unit_path for g in a.grants})
    if not paths:
        return []
    cond = or_(*[and_(Unit.path >= p, Unit.path < p + "\uffff") for p in paths])
    return list(db().scalars(select(Unit).where(cond).order_by(Unit.path)))


def filter_options(a: Actor) -> tuple[list[str], list[tuple[int, str]]]:
    """The processes and the rounds (``context.round_id``, titled by ``context.round_title``) of the
    caller's inbox, in one query; the rounds table is read only for a round no task names."""
    s = db()
    mine = core_inbox.inbox_query(a).subquery()
    rid = mine.c.context["round_id"].as_integer()
    rtitle = mine.c.context["round_title"].as_string()
    processes: set[str] = set()
    titles: dict[int, str] = {}
    for key, round_id, title in s.execute(select(mine.c.process_key, rid, rtitle).distinct()):
        processes.add(key)
        if round_id is not None and (title or round_id not in titles):
            titles[round_id] = title or ""
    missing = [i for i, t in titles.items() if not t]
    if missing:
        titles.update({r.id: r.title for r in s.scalars(select(Round).where(Round.id.in_(missing)))})
    return sorted(processes), [(i, titles[i] or f"#{i}") for i in sorted(titles)]


@dataclass
class Filters:
    process: str = ""
    due: str = ""
    round: str = ""
    unit: str = ""
    round_id: int | None = None
    unit_path: str | None = None

    def args(self) -> dict[str, str]:
        """The non-empty filter parameters, for links (pager, saved filters)."""
        return {k: v for k in core_inbox.FILTER_PARAMS if (v := getattr(self, k))}

    @property
    def active(self) -> bool:
        return bool(self.args())


def read_filters(args: Any, units: list[Unit]) -> Filters:
    """The page's filters from the query string; a malformed or foreign value is dropped, not an error."""
    f = Filters(process=str(args.get("process", ""))[:128], due=args.get("due", ""))
    if f.due not in ("", "overdue", "week"):
        f.due = ""
    raw_round = args.get("round", "")
    if raw_round.isdigit() and len(raw_round) <= 12:
        f.round, f.round_id = raw_round, int(raw_round)
    raw_unit = args.get("unit", "")
    if raw_unit.isdigit():
        unit = next((u for u in units if str(u.id) == raw_unit), None)
        if unit is not None:
            f.unit, f.unit_path = raw_unit, unit.path
    return f


@bp.route("/")
def index() -> Any:
    a = actor()
    rt = runtime()
    now = rt.clock.now()
    units = visible_units(a)
    flt = read_filters(request.args, units)
    process, due = flt.process, flt.due
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    s = db()
    narrowed: dict[str, Any] = {"process": process, "due": due, "now": now, "round_id": flt.round_id,
                                "unit_path": flt.unit_path}
    # Unfiltered, the total is the navigation's inbox counter: count once per request.
    total = (s.scalar(inbox_query(a, count=True, **narrowed)) or 0) if flt.active else nav_counts()["inbox"]
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    # Plain rows of only what the table shows: building ORM objects (identity map, JSON columns) for
    # every row cost more than the query itself.
    ids = inbox_query(a, **narrowed).with_only_columns(UserTask.id)
    page_ids = ids.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).subquery()
    cols = (UserTask.id, UserTask.title, UserTask.name, UserTask.instance_id, UserTask.process_key, UserTask.role,
            UserTask.due_at, UserTask.assignee_id)
    rows = list(s.execute(select(*cols).join(page_ids, page_ids.c.id == UserTask.id)
                          .order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at, UserTask.id)))
    processes, rounds = filter_options(a)
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
    user = s.get(User, a.user_id) if a.user_id is not None else None
    return render_template(
        "inbox.html", items=items, processes=processes, process=process, due=due, roles=roles, urls=urls,
        page=page, pages=pages, total=total, filters=flt, filter_args=flt.args(), units=units,
        unit_depth=min((u.path.count("/") for u in units), default=0),
        rounds=rounds, saved=core_inbox.saved_filters(user) if user else [],
        name_max=core_inbox.FILTER_NAME_MAX,
    )


def _saved_message(exc: InvalidInput) -> str:
    code = exc.details.get("code")
    if code == "name_too_long":
        return _("The name may have at most %(max)d characters.", max=core_inbox.FILTER_NAME_MAX)
    if code == "name_invalid":
        return _("The name may not contain control characters.")
    if code == "no_filters":
        return _("Choose at least one filter before saving.")
    if code == "too_many":
        return _("You can keep at most %(max)d saved filters; delete one first.", max=core_inbox.SAVED_FILTERS_MAX)
    return _("Please give the filter a name.")


@bp.route("/inbox/filters", methods=["POST"])
def save_filter() -> Any:
    a = actor()
    params = {k: request.form.get(k, "") for k in core_inbox.FILTER_PARAMS}
    back: dict[str, Any] = dict(core_inbox.clean_filter_params(params))
    if a.user_id is None:
        return redirect(url_for("inbox.index", **back))
    try:
        core_inbox.save_filter(db(), a.user_id, request.form.get("name", ""), params)
    except InvalidInput as exc:
        db().rollback()
        flash(_saved_message(exc), "error")
        return redirect(url_for("inbox.index", **back))
    flash(_("Filter saved."), "success")
    return redirect(url_for("inbox.index", **back))


@bp.route("/inbox/filters/delete", methods=["POST"])
def delete_filter() -> Any:
    a = actor()
    if a.user_id is not None and core_inbox.delete_filter(db(), a.user_id, request.form.get("name", "")):
        flash(_("Saved filter deleted."), "success")
    return redirect(url_for("inbox.index"))


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
