"""Process instances: one instance as the caller may see it, the administrators' list, and the marks
of a drawn diagram (done, active and overdue elements) shown with an instance or a problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from rectiflow.db.org import Unit
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, SourceFile, Timer, UserTask
from rectiflow.domain.vocab import InstanceStatus, TaskStatus, TimerStatus
from rectiflow.engine.xmlsafe import parse_xml
from rectiflow.errors import NotFound
from rectiflow.i18n import N_
from rectiflow.read import paging
from rectiflow.read.paging import Page, PageRequest
from rectiflow.read.params import enum_param, id_param, text_param
from rectiflow.read.scope import subtree
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.workflow import tasks as task_service

PROCESS_KEY_MAX = 128
ORDER = (ProcessInstance.id.desc(),)  # newest first; ids are unique


@dataclass(frozen=True)
class InstanceFilter:
    status: InstanceStatus | None = None
    process: str | None = None

    def __post_init__(self) -> None:
        enum_param("status", self.status, InstanceStatus)
        text_param("process", self.process, PROCESS_KEY_MAX)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> InstanceFilter:
        return cls(status=enum_param("status", args.get("status"), InstanceStatus),
                   process=text_param("process", args.get("process"), PROCESS_KEY_MAX))

    def args(self) -> dict[str, str]:
        return {k: str(v) for k, v in (("status", self.status), ("process", self.process)) if v is not None}


def instances_query(actor: Actor, f: InstanceFilter) -> Select[Any]:
    """Instances of the units ``actor`` works in (all of them for an administrator)."""
    q = select(ProcessInstance)
    if not actor.is_admin:
        paths = sorted({g.unit_path for g in actor.grants})
        cond = or_(*[subtree(Unit.path, p) for p in paths]) if paths else false()
        q = q.where(ProcessInstance.unit_id.in_(select(Unit.id).where(cond)))
    if f.status is not None:
        q = q.where(ProcessInstance.status == f.status.value)
    if f.process:
        q = q.where(ProcessInstance.process_key == f.process)
    return q


def instances_page(session: Session, actor: Actor, f: InstanceFilter, req: PageRequest) -> Page[ProcessInstance]:
    return paging.fetch(session, instances_query(actor, f), ORDER, req)


def visible_instance(session: Session, actor: Actor, instance_id: int) -> tuple[ProcessInstance, Unit | None]:
    """The instance if ``actor`` works in its unit (or above), or can see one of its tasks."""
    id_param("instance_id", instance_id)
    inst = session.get(ProcessInstance, instance_id)
    if inst is None:
        raise NotFound(N_("Process instance not found."))
    unit = session.get(Unit, inst.unit_id) if inst.unit_id else None
    if actor.is_admin or (unit is not None and actor.can_see(unit.path)):
        return inst, unit
    for t in session.scalars(select(UserTask).where(UserTask.instance_id == inst.id)):
        if task_service.can_view(t, actor):
            return inst, unit
    raise NotFound(N_("Process instance not found."))


# ------------------------------------------------------------------------------- diagram marks

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_INDEX_CACHE: dict[str, DiagramIndex] = {}


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


def _sources(session: Session, definition: ProcessDefinition | None) -> tuple[SourceFile | None, list[SourceFile]]:
    if definition is None:
        return None, []
    hashes = (definition.files or {}).get("bpmn", {})
    rows = {r.content_hash: r for r in session.scalars(select(SourceFile).where(SourceFile.content_hash.in_(
        list(hashes.values()))))} if hashes else {}
    return rows.get(hashes.get(definition.file_name, "")), list(rows.values())


def diagram_source(session: Session, inst: ProcessInstance) -> SourceFile | None:
    """The BPMN file drawn for ``inst`` (its definition's main file)."""
    return _sources(session, session.get(ProcessDefinition, inst.definition_id))[0]


def _parse(source: SourceFile) -> Any:
    content = source.content if isinstance(source.content, bytes) else str(source.content).encode()
    return parse_xml(content, "diagram")


def diagram_index(session: Session, inst: ProcessInstance) -> DiagramIndex | None:
    """Element ids of the drawn diagram and of the processes it calls (cached by definition hash)."""
    definition = session.get(ProcessDefinition, inst.definition_id)
    if definition is None:
        return None
    cached = _INDEX_CACHE.get(definition.content_hash)
    if cached is not None:
        return cached
    main, every = _sources(session, definition)
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


def markers(session: Session, inst: ProcessInstance, now: datetime,
            tasks: list[UserTask] | None = None) -> dict[str, list[str]]:
    """Done and active elements of the drawn diagram. A step inside a called process (an acceptance
    run inside a problem) marks the call activity that runs it."""
    if tasks is None:
        tasks = list(session.scalars(select(UserTask).where(UserTask.instance_id == inst.id)))
    index = diagram_index(session, inst)

    def place(element: str) -> list[str]:
        return [element] if index is None else index.place(element)

    done: list[str] = []
    for t in sorted((t for t in tasks if t.status == TaskStatus.COMPLETED), key=lambda t: (t.completed_at, t.id)):
        done += [e for e in place(t.element_id) if e not in done]
    timers = session.scalars(select(Timer.element_id).where(Timer.instance_id == inst.id,
                                                            Timer.status == TimerStatus.WAITING))
    active = [e for t in tasks if t.status == TaskStatus.READY for e in place(t.element_id)]
    active += [e for el in timers for e in place(el)]
    overdue = sorted({e for t in tasks if t.status == TaskStatus.READY and t.due_at is not None and t.due_at < now
                      for e in place(t.element_id)})
    return {"done": [e for e in done if e not in active], "active": sorted(set(active)), "overdue": overdue}
