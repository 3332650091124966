"""My notices (预警、督办、提醒): list, mark read, acknowledge (签收) when required."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from rectiflow.db.domain import Notice
from rectiflow.errors import Conflict, NotFound
from webapp.web import actor, db, runtime

bp = Blueprint("notices", __name__, url_prefix="/notices")


def _mine(notice_id: int) -> Notice:
    n = db().get(Notice, notice_id)
    if n is None or n.recipient_id != actor().user_id:
        raise NotFound("notice not found")
    return n


@bp.route("/")
def index() -> Any:
    rows = list(
        db().scalars(
            select(Notice)
            .where(Notice.recipient_id == actor().user_id)
            .order_by(Notice.read_at.is_not(None), Notice.created_at.desc())
            .limit(500)
        )
    )
    return render_template("notices.html", rows=rows)


@bp.route("/<int:notice_id>/read", methods=["POST"])
def read(notice_id: int) -> Any:
    n = _mine(notice_id)
    if n.read_at is None:
        n.read_at = runtime().clock.now()
    return redirect(url_for("notices.index"))


@bp.route("/<int:notice_id>/ack", methods=["POST"])
def ack(notice_id: int) -> Any:
    n = _mine(notice_id)
    if not n.requires_ack:
        raise Conflict("this notice does not need acknowledgement")
    if n.acknowledged_at is None:
        now = runtime().clock.now()
        n.acknowledged_at = now
        n.read_at = n.read_at or now
        from rectiflow.services import audit

        audit.record(
            db(),
            at=now,
            actor=actor().username,
            action="notice.acknowledged",
            object_type="notice",
            object_id=str(n.id),
            payload={"kind": n.kind},
        )
    flash(_("Notice acknowledged."), "success")
    return redirect(url_for("notices.index"))
