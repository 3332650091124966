"""My notices (预警、督办、提醒): list, mark read, acknowledge (签收) when required.
The rules live in ``rectiflow.services.notifications``; this module only shapes the pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from rectiflow.services import notifications
from webapp.web import actor, db, runtime

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.route("/")
def index() -> Any:
    rows = notifications.list_notices(db(), actor().user_id)
    return render_template("notices.html", rows=rows)


@bp.route("/<int:notice_id>/read", methods=["POST"])
def read(notice_id: int) -> Any:
    notifications.mark_read(db(), runtime().clock, actor().user_id, notice_id)
    return redirect(url_for("notices.index"))


@bp.route("/<int:notice_id>/ack", methods=["POST"])
def ack(notice_id: int) -> Any:
    notifications.acknowledge(db(), runtime().clock, actor().user_id, notice_id, actor().username)
    flash(_("Notice acknowledged."), "success")
    return redirect(url_for("notices.index"))
