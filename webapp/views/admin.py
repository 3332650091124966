"""Administration (admin role only): definitions, instances, incidents, the virtual clock."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from rectiflow.db.jobs import Incident
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance
from rectiflow.domain.vocab import InstanceStatus
from rectiflow.errors import InvalidInput
from rectiflow.i18n import N_, Message
from rectiflow.read.instances import InstanceFilter, instances_page
from rectiflow.services import jobs
from rectiflow.services.workflow import instances
from webapp.i18n import current_locale
from webapp.paging import link_args, page_request
from webapp.virtual_clock import advance_clock
from webapp.web import actor, db, runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")


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
    f = InstanceFilter.from_args(request.args)
    page = instances_page(db(), actor(), f, page_request())
    return render_template("admin/instances.html", page=page, status=f.status or "", statuses=InstanceStatus.codes(),
                           pager_args=link_args(f.args(), page))


@bp.route("/instances/<int:instance_id>/status", methods=["POST"])
def set_status(instance_id: int) -> Any:
    target = request.form.get("status", "")
    if target not in instances.TRANSITIONS:
        raise InvalidInput(N_("Unknown instance status “%(status)s”."),
                           errors={"status": [Message(N_("Choose suspend, resume or terminate."))]}, status=target)
    instances.set_status(db(), runtime(), instance_id, target, actor(), request.form.get("reason", ""))
    flash(
        _("Instance %(id)d is now %(status)s.", id=instance_id,
          status=InstanceStatus.label_of(target, current_locale())),
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
    jobs.retry_incident(db(), runtime().clock, incident_id, actor().username)
    flash(_("Incident %(id)d re-queued.", id=incident_id), "success")
    return redirect(url_for("admin.incidents"))


@bp.route("/clock")
def clock() -> Any:
    rt = runtime()
    return render_template("admin/clock.html", now=rt.clock.now(), virtual=rt.settings.virtual_clock)


@bp.route("/clock", methods=["POST"])
def clock_advance() -> Any:
    advance_clock(request.form.get("duration", ""))
    flash(
        _("The clock now reads %(now)s.", now=runtime().clock.now().strftime("%Y-%m-%d %H:%M UTC")), "success"
    )
    return redirect(url_for("admin.clock"))
