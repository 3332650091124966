"""My notices (预警、督办、提醒): list, mark read, acknowledge (签收) when required.
The rules live in ``rectiflow.services.notifications``; this module only shapes the pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from rectiflow.read.notices import notices_page
from rectiflow.services import notifications
from webapp.paging import link_args, page_request
from webapp.web import actor, db, runtime

bp = Blueprint("notices", __name__, url_prefix="/notices")


def _me() -> int:
    uid = actor().user_id
    assert uid is not None  # the login check runs before every page of this blueprint
    return uid


@bp.route("/")
def index() -> Any:
    page = notices_page(db(), actor(), page_request())
    return render_template("notices.html", page=page, pager_args=link_args({}, page))


@bp.route("/<int:notice_id>/read", methods=["POST"])
def read(notice_id: int) -> Any:
    notifications.mark_read(db(), runtime().clock, _me(), notice_id)
    return redirect(url_for("notices.index"))


@bp.route("/<int:notice_id>/ack", methods=["POST"])
def ack(notice_id: int) -> Any:
    notifications.acknowledge(db(), runtime().clock, _me(), notice_id, actor().username)
    flash(_("Notice acknowledged."), "success")
    return redirect(url_for("notices.index"))
