"""The inbox page: tasks given to me, plus unclaimed tasks of my roles within my units, filtered and
paged by the core's read model (``rectiflow.read.inbox``), and the filter sets a user saves under a name."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from rectiflow.db.org import User
from rectiflow.errors import InvalidInput
from rectiflow.read import inbox as read_inbox
from rectiflow.read.inbox import InboxFilter
from rectiflow.read.scope import visible_units
from rectiflow.roles import role_label
from rectiflow.services.workflow import tasks as task_service
from webapp.due import DueLabel, labelled
from webapp.i18n import current_locale
from webapp.paging import link_args, page_request
from webapp.web import actor, db, runtime

bp = Blueprint("inbox", __name__)


@bp.route("/")
def index() -> Any:
    a, s, now = actor(), db(), runtime().clock.now()
    flt = InboxFilter.from_args(request.args)
    page = read_inbox.inbox_page(s, a, flt, page_request(), now)
    units = visible_units(s, a)
    processes, rounds = read_inbox.filter_options(s, a)
    # Per-row work done once per distinct value: translated labels and URL prefixes (gettext and
    # url_for per cell of a 500-row page cost more than the query).
    dues: dict[Any, DueLabel] = {}
    items = []
    for t in page.rows:
        if t.due_at not in dues:
            dues[t.due_at] = labelled(read_inbox.due_state(t.due_at, now))
        items.append((t, dues[t.due_at]))
    loc = current_locale()
    roles = {t.role: role_label(t.role, loc) for t in page.rows}
    urls = {
        "task": url_for("task.show", task_id="_")[:-1],
        "instance": url_for("instances.show", instance_id=1)[:-1],
        "claim": url_for("inbox.claim", task_id="_")[:-len("_/claim")],
    }
    user = s.get(User, a.user_id) if a.user_id is not None else None
    filter_args = flt.args()
    return render_template(
        "inbox.html", items=items, processes=processes, roles=roles, urls=urls, page=page,
        pager_args=link_args(filter_args, page), filters=flt, filter_args=filter_args, units=units,
        unit_depth=min((u.path.count("/") for u in units), default=0),
        rounds=rounds, saved=read_inbox.saved_filters(user) if user else [],
        name_max=read_inbox.FILTER_NAME_MAX,
    )


@bp.route("/inbox/filters", methods=["POST"])
def save_filter() -> Any:
    a = actor()
    params = {k: request.form.get(k, "") for k in read_inbox.FILTER_PARAMS}
    back: dict[str, Any] = dict(read_inbox.clean_filter_params(params))
    if a.user_id is None:
        return redirect(url_for("inbox.index", **back))
    try:
        read_inbox.save_filter(db(), a.user_id, request.form.get("name", ""), params)
    except InvalidInput as exc:
        db().rollback()
        flash(exc.render(current_locale()), "error")
        return redirect(url_for("inbox.index", **back))
    flash(_("Filter saved."), "success")
    return redirect(url_for("inbox.index", **back))


@bp.route("/inbox/filters/delete", methods=["POST"])
def delete_filter() -> Any:
    a = actor()
    if a.user_id is not None and read_inbox.delete_filter(db(), a.user_id, request.form.get("name", "")):
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
