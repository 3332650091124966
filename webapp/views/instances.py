"""An instance: status, timeline from the audit log, the diagram with done/active elements marked.
Visibility and the marks are the core's (``rectiflow.read.instances``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template
from sqlalchemy import select

from rectiflow.db.runtime import ProcessDefinition, Timer, UserTask
from rectiflow.errors import NotFound
from rectiflow.i18n import N_
from rectiflow.read.instances import diagram_source, markers, visible_instance
from rectiflow.services import audit
from rectiflow.services.workflow import tasks as task_service
from webapp.web import actor, db, runtime

bp = Blueprint("instances", __name__, url_prefix="/instances")


@bp.route("/<int:instance_id>")
def show(instance_id: int) -> Any:
    a, s = actor(), db()
    inst, unit = visible_instance(s, a, instance_id)
    definition = s.get(ProcessDefinition, inst.definition_id)
    events = audit.timeline(s, instance_ids=[inst.id])
    tasks = list(
        s.scalars(
            select(UserTask).where(UserTask.instance_id == inst.id).order_by(UserTask.created_at, UserTask.id)
        )
    )
    timers = list(s.scalars(select(Timer).where(Timer.instance_id == inst.id).order_by(Timer.due_at)))
    return render_template(
        "instance.html",
        inst=inst,
        unit=unit,
        definition=definition,
        events=events,
        tasks=[t for t in tasks if task_service.can_view(t, a) or a.can_see(t.unit_path)],
        timers=timers,
        markers=markers(s, inst, runtime().clock.now(), tasks),
    )


@bp.route("/<int:instance_id>/diagram.bpmn")
def diagram(instance_id: int) -> Any:
    s = db()
    inst, _unit = visible_instance(s, actor(), instance_id)
    source = diagram_source(s, inst)
    if source is None:
        raise NotFound(N_("Diagram not found."))
    return Response(
        source.content,
        mimetype="application/xml",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
