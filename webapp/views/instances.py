"""An instance: status, timeline from the audit log, the diagram with done/active elements marked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template
from sqlalchemy import select

from rectiflow.db.org import Unit
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, SourceFile, Timer, UserTask
from rectiflow.engine.xmlsafe import parse_xml
from rectiflow.errors import NotFound
from rectiflow.services import audit
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.workflow import tasks as task_service
from webapp.web import actor, db, runtime

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


_INDEX_CACHE: dict[str, DiagramIndex] = {}
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class DiagramIndex:
    drawn: frozenset[str]  # element ids of the diagram shown for the instance
    process_of: dict[str, str]  # element id -> id of the process holding it, over every file of the bundle
    callers: dict[str, list[str]]  # process id -> call activities calling it

    def place(self, element: str) -> list[str]:
        """The drawn elements standing for ``element``: itself, or the call activities that run it."""
        seen: set[str] = set()
        todo, out = [element], []
        while todo:
            e = todo.pop()
            if e in seen:
                continue
            seen.add(e)
            if e in self.drawn:
                out.append(e)
            elif e in self.process_of:
                todo += self.callers.get(self.process_of[e], [])
        return sorted(set(out))


def _sources(definition: ProcessDefinition | None) -> tuple[SourceFile | None, list[SourceFile]]:
    if definition is None:
        return None, []
    hashes = (definition.files or {}).get("bpmn", {})
    rows = {r.content_hash: r for r in db().scalars(select(SourceFile).where(SourceFile.content_hash.in_(
        list(hashes.values()))))} if hashes else {}
    return rows.get(hashes.get(definition.file_name, "")), list(rows.values())


def diagram_source(inst: ProcessInstance) -> SourceFile | None:
    return _sources(db().get(ProcessDefinition, inst.definition_id))[0]


def _parse(source: SourceFile) -> Any:
    content = source.content if isinstance(source.content, bytes) else str(source.content).encode()
    return parse_xml(content, "diagram")


def diagram_index(inst: ProcessInstance) -> DiagramIndex | None:
    """Element ids of the drawn diagram and of the processes it calls (cached by definition hash)."""
    definition = db().get(ProcessDefinition, inst.definition_id)
    if definition is None:
        return None
    cached = _INDEX_CACHE.get(definition.content_hash)
    if cached is not None:
        return cached
    main, every = _sources(definition)
    if main is None:
        return None
    try:
        drawn = frozenset(str(e.get("id")) for e in _parse(main).iter() if e.get("id"))
        process_of: dict[str, str] = {}
        callers: dict[str, list[str]] = {}
        for src in every:
            for proc in _parse(src).iter(f"{{{BPMN_NS}}}process"):
                pid = str(proc.get("id"))
                for e in proc.iter():
                    if e.get("id"):
                        process_of.setdefault(str(e.get("id")), pid)
                    if e.tag == f"{{{BPMN_NS}}}callActivity" and e.get("calledElement"):
                        callers.setdefault(str(e.get("calledElement")), []).append(str(e.get("id")))
    except Exception:  # an unreadable diagram only loses its markers; the page still renders
        return None
    if len(_INDEX_CACHE) > 256:
        _INDEX_CACHE.clear()
    cached = _INDEX_CACHE[definition.content_hash] = DiagramIndex(drawn, process_of, callers)
    return cached


def markers(inst: ProcessInstance, tasks: list[UserTask] | None = None) -> dict[str, list[str]]:
    """Done and active elements of the drawn diagram. A step inside a called process (an acceptance
    run inside a problem) marks the call activity that runs it."""
    s = db()
    if tasks is None:
        tasks = list(s.scalars(select(UserTask).where(UserTask.instance_id == inst.id)))
    index = diagram_index(inst)

    def place(element: str) -> list[str]:
        return [element] if index is None else index.place(element)

    done: list[str] = []
    for t in sorted((t for t in tasks if t.status == "completed"), key=lambda t: (t.completed_at, t.id)):
        done += [e for e in place(t.element_id) if e not in done]
    timers = s.scalars(select(Timer.element_id).where(Timer.instance_id == inst.id, Timer.status == "waiting"))
    active = [e for t in tasks if t.status == "ready" for e in place(t.element_id)]
    active += [e for el in timers for e in place(el)]
    now = runtime().clock.now()
    overdue = sorted({e for t in tasks if t.status == "ready" and t.due_at is not None and t.due_at < now
                      for e in place(t.element_id)})
    return {"done": [e for e in done if e not in active], "active": sorted(set(active)), "overdue": overdue}


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
        markers=markers(inst, tasks),
    )


@bp.route("/<int:instance_id>/diagram.bpmn")
def diagram(instance_id: int) -> Any:
    inst, _unit = visible_instance(instance_id, actor())
    source = diagram_source(inst)
    if source is None:
        raise NotFound("diagram not found")
    return Response(
        source.content,
        mimetype="application/xml",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
