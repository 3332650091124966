"""An instance: status, timeline from the audit log, the diagram with done/active elements marked."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template
from sqlalchemy import select

from rectiflow.db.org import Unit
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, SourceFile, Timer, UserTask
from rectiflow.errors import NotFound
from rectiflow.services import audit
from rectiflow.services import tasks as task_service
from rectiflow.services.actors import Actor
from webapp.web import actor, db

bp = Blueprint("instances", __name__, url_prefix="/instances")


def visible_instance(instance_id: int, a: Actor) -> tuple[ProcessInstance, Unit | None]:
    """The instance if the actor works in its unit (or above), or can see one of its tasks."""
    s = db()
    inst = s.get(ProcessInstance, instance_id)
    if inst is None:
        raise NotFound("process instance not found")
    unit = s.get(Unit, inst.unit_id) if inst.unit_id else None
    if a.is_admin or (unit is not None and a.can_see(unit.path)):
        return inst, unit
    for t in s.scalars(select(UserTask).where(UserTask.instance_id == inst.id)):
        if task_service.can_view(t, a):
            return inst, unit
    raise NotFound("process instance not found")


def markers(inst: ProcessInstance) -> dict[str, list[str]]:
    s = db()
    done: list[str] = []
    for ev in audit.timeline(s, instance_ids=[inst.id], limit=5000):
        element = (ev.payload or {}).get("element") if ev.action == "task.completed" else None
        if element and element not in done:
            done.append(element)
    active = list(
        s.scalars(
            select(UserTask.element_id).where(UserTask.instance_id == inst.id, UserTask.status == "ready")
        )
    )
    active += list(
        s.scalars(select(Timer.element_id).where(Timer.instance_id == inst.id, Timer.status == "waiting"))
    )
    return {"done": [e for e in done if e not in active], "active": sorted(set(active))}


@bp.route("/<int:instance_id>")
def show(instance_id: int) -> Any:
    a = actor()
    inst, unit = visible_instance(instance_id, a)
    s = db()
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
        markers=markers(inst),
    )


@bp.route("/<int:instance_id>/diagram.bpmn")
def diagram(instance_id: int) -> Any:
    inst, _unit = visible_instance(instance_id, actor())
    s = db()
    definition = s.get(ProcessDefinition, inst.definition_id)
    digest = (definition.files or {}).get("bpmn", {}).get(definition.file_name) if definition else None
    source = s.scalar(select(SourceFile).where(SourceFile.content_hash == digest)) if digest else None
    if source is None:
        raise NotFound("diagram not found")
    return Response(
        source.content,
        mimetype="application/xml",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
