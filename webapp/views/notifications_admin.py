"""Administration of the notification outbox (admin role only): deliveries with their status,
attempts and last error, a retry button for dead ones, and the workers' heartbeats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from rectiflow.db.jobs import WorkerHeartbeat
from rectiflow.services import notifications
from webapp.web import actor, db, runtime

bp = Blueprint("notifications_admin", __name__, url_prefix="/admin/notifications")
STATUSES = ("pending", "sent", "dead")


@bp.before_request
def _admin_only() -> None:
    actor().require_role("admin")


@bp.route("/")
def index() -> Any:
    status = request.args.get("status", "")
    s = db()
    rows = notifications.list_deliveries(s, status if status in STATUSES else None)
    rt = runtime()
    stale_after = timedelta(seconds=max(3 * rt.settings.tick_seconds, 30))
    now = rt.clock.now()
    workers = [(hb, now - hb.last_seen > stale_after)
               for hb in s.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen.desc()))]
    return render_template("admin/notifications.html", rows=rows, status=status, statuses=STATUSES,
                           counts=notifications.delivery_counts(s), workers=workers)


@bp.route("/<int:delivery_id>/retry", methods=["POST"])
def retry(delivery_id: int) -> Any:
    notifications.retry_delivery(db(), runtime().clock, delivery_id, actor().username)
    flash(_("Delivery %(id)d re-queued.", id=delivery_id), "success")
    return redirect(url_for("notifications_admin.index", status="dead"))
