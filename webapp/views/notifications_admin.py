"""Administration of the notification outbox (admin role only): deliveries with their status,
attempts and last error, a retry button for dead ones, and the workers' heartbeats."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from rectiflow.domain.vocab import DeliveryStatus
from rectiflow.services import heartbeats, notifications
from webapp.web import actor, db, runtime

bp = Blueprint("notifications_admin", __name__, url_prefix="/admin/notifications")


@bp.before_request
def _admin_only() -> None:
    actor().require_role("admin")


@bp.route("/")
def index() -> Any:
    status = request.args.get("status", "")
    s = db()
    rows = notifications.list_deliveries(s, status if status in DeliveryStatus.codes() else None)
    rt = runtime()
    workers = heartbeats.listed(s, rt.clock.now(), rt.settings.tick_seconds)
    return render_template("admin/notifications.html", rows=rows, status=status, statuses=DeliveryStatus.codes(),
                           # not ``counts``: base.html sets that name to the navigation badges
                           delivery_counts=notifications.delivery_counts(s), workers=workers)


@bp.route("/<int:delivery_id>/retry", methods=["POST"])
def retry(delivery_id: int) -> Any:
    notifications.retry_delivery(db(), runtime().clock, delivery_id, actor().username)
    flash(_("Delivery %(id)d re-queued.", id=delivery_id), "success")
    return redirect(url_for("notifications_admin.index", status="dead"))
