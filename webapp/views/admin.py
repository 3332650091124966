"""Administration (admin role only): definitions, instances, incidents, the virtual clock."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from rectiflow.clock import FixedClock, parse_duration
from rectiflow.db.jobs import Incident
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance
from rectiflow.errors import Conflict, InvalidInput
from rectiflow.services import clockstore, jobs
from rectiflow.services.workflow import instances
from webapp.labels import INSTANCE_STATUS
from webapp.web import actor, db, end_db, runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")
INSTANCE_STATUSES = ("running", "suspended", "error", "completed", "terminated")


@bp.before_request
def _admin_only() -> None:
    actor().require_role("admin")


@bp.route("/")
def index() -> Any:
    return redirect(url_for("admin.definitions"))


@bp.route("/definitions")
def definitions() -> Any:
    s = db()
    counts = dict(
        s.execute(
            select(ProcessInstance.definition_id, func.count(ProcessInstance.id)).group_by(
                ProcessInstance.definition_id
            )
        ).all()
    )
    rows = list(
        s.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc()))
    )
    return render_template("admin/definitions.html", rows=rows, counts=counts)


@bp.route("/instances")
def instance_list() -> Any:
    status = request.args.get("status", "")
    q = select(ProcessInstance).order_by(ProcessInstance.id.desc()).limit(200)
    if status in INSTANCE_STATUSES:
        q = q.where(ProcessInstance.status == status)
    return render_template(
        "admin/instances.html", rows=list(db().scalars(q)), status=status, statuses=INSTANCE_STATUSES
    )


@bp.route("/instances/<int:instance_id>/status", methods=["POST"])
def set_status(instance_id: int) -> Any:
    target = request.form.get("status", "")
    if target not in ("suspended", "running", "terminated"):
        raise InvalidInput("unknown status", errors={"status": [_("Choose suspend, resume or terminate.")]})
    instances.set_status(db(), runtime(), instance_id, target, actor(), request.form.get("reason", ""))
    flash(
        _("Instance %(id)d is now %(status)s.", id=instance_id, status=str(INSTANCE_STATUS[target])),
        "success",
    )
    return redirect(url_for("admin.instance_list"))


@bp.route("/incidents")
def incidents() -> Any:
    rows = list(
        db().scalars(select(Incident).order_by(Incident.status.desc(), Incident.id.desc()).limit(200))
    )
    return render_template("admin/incidents.html", rows=rows)


@bp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
def retry(incident_id: int) -> Any:
    end_db()  # retry_incident runs its own transaction
    jobs.retry_incident(runtime(), incident_id, actor().username)
    flash(_("Incident %(id)d re-queued.", id=incident_id), "success")
    return redirect(url_for("admin.incidents"))


@bp.route("/clock")
def clock() -> Any:
    rt = runtime()
    return render_template("admin/clock.html", now=rt.clock.now(), virtual=rt.settings.virtual_clock)


def advance_clock(duration: str) -> None:
    """Move the virtual clock forward (also a test/bench FixedClock, which has no shared offset)."""
    rt = runtime()
    if not rt.settings.virtual_clock:
        raise Conflict("the clock is not virtual: set RECTIFLOW_CLOCK=virtual to move time")
    try:
        delta = parse_duration(duration)
    except ValueError as exc:
        raise InvalidInput(str(exc), errors={"duration": [str(exc)]}) from exc
    if isinstance(rt.clock, FixedClock):
        if delta.total_seconds() < 0:
            raise Conflict("time only moves forward")
        rt.clock.advance(delta)
        return
    clockstore.advance(db(), rt.clock, delta)


@bp.route("/clock", methods=["POST"])
def clock_advance() -> Any:
    advance_clock(request.form.get("duration", ""))
    flash(
        _("The clock now reads %(now)s.", now=runtime().clock.now().strftime("%Y-%m-%d %H:%M UTC")), "success"
    )
    return redirect(url_for("admin.clock"))
