"""Instance state without its spec.

The library embeds the whole process spec in every serialized workflow (two thirds of the JSON at
start). We store the spec once per deployed version (its BPMN source) and keep only the instance
state per row; loading takes the parsed spec from the cache. Task data may hold ``date``,
``datetime`` and ``Decimal`` values, which the default registry cannot serialize.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from rectiflow.engine.specs import SERIALIZER_CONFIG

STATE_FORMAT = "rectiflow-state-1"


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_name"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        if spec is None:
            raise ValueError("a spec-less state needs the spec it was started with")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


# Most tasks in a tree are predictions with empty data; storing their default fields over and over
# is most of the state. Drop fields equal to these defaults on the way out, restore them on the way in.
_TASK_DEFAULTS: dict[str, Any] = {"typename": "Task", "triggered": False, "internal_data": {}, "data": {},
                                  "delta": {"updates": {}, "deletions": []}}


def _task_maps(dct: dict[str, Any]) -> list[dict[str, Any]]:
    maps = [dct.get("tasks", {})]
    maps.extend(sp.get("tasks", {}) for sp in dct.get("subprocesses", {}).values())
    return maps


def _compact(dct: dict[str, Any]) -> None:
    for tasks in _task_maps(dct):
        for task in tasks.values():
            for key, default in _TASK_DEFAULTS.items():
                if task.get(key, default) == default:
                    task.pop(key, None)


def _expand(dct: dict[str, Any]) -> None:
    for tasks in _task_maps(dct):
        for task in tasks.values():
            for key, default in _TASK_DEFAULTS.items():
                if key not in task:
                    task[key] = json.loads(json.dumps(default))


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def _build_registry() -> Any:
    config = {**SERIALIZER_CONFIG, BpmnWorkflow: SpeclessWorkflowConverter}
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return registry


# A task whose state is one of these may have its data or internal data changed in place without
# a state change (a timer re-arming, a join merging, our own code filling in a service result).
_LIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR
_FRAGMENTS = "_rectiflow_state_fragments"
# Values nobody can change in place. A child inherits a *shallow* copy of its parent's data, so a
# list or dict in a finished task's data can still be changed through a live descendant (a script
# doing ``items[0]["done"] = True``): such tasks are serialized every time.
_SCALARS = frozenset({str, int, float, bool, type(None), date, datetime, Decimal})


def _flat(values: dict[str, Any]) -> bool:
    return not values or all(type(value) in _SCALARS for value in values.values())


def _fingerprint(task: Any, parent: Any) -> tuple[Any, ...] | None:
    """What a task's stored form depends on, when it can be known without serializing it.

    The library stores a task's data as a delta against its parent's data, so the parent's state
    is part of the fingerprint too. ``None`` means "serialize again": the task or its parent is
    live, or their data holds containers that could have been changed in place. Otherwise a task
    changes only through a state change, which moves ``last_state_change``, a tree edit (children
    added or dropped, pruning), which moves ``_children`` or ``_parent``, or a migration to another
    version, which gives it another spec object (compared by identity)."""
    state = task._state
    if state & _LIVE or not (_flat(task.data) and _flat(task.internal_data)):
        return None
    if parent is not None and (parent._state & _LIVE or not _flat(parent.data)):
        return None
    return (state, task.last_state_change, task._parent, tuple(task._children), task.triggered, task.task_spec,
            None if parent is None else (parent._state, parent.last_state_change))


class StateSerializer:
    """Dumps and loads workflow state (JSON text) with the spec supplied from outside.

    Dumping is incremental: each task's JSON fragment is kept on the workflow object with a
    fingerprint, and only tasks whose fingerprint moved (or that are live) are serialized again.
    A step touches two or three tasks of a tree of dozens, so this is most of the saving over
    serializing everything. ``verify`` (switched on by the test suite) serializes everything as
    well and fails loudly when the two differ."""

    verify = False

    def __init__(self) -> None:
        self.registry = _build_registry()
        self._encoder = create_encoder(self.registry)
        self._encode = self._encoder(ensure_ascii=False, separators=(",", ":")).encode
        # The library's own full serializer, used only to measure what it would have stored.
        full_registry = BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG)
        full_registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
        full_registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        self._full = BpmnWorkflowSerializer(full_registry)

    def _json(self, value: Any) -> str:
        return str(self._encode(value))

    def dumps(self, workflow: BpmnWorkflow) -> str:
        self.registry._encoder_mode = True
        try:
            text = self._workflow_json(workflow, top=True)
        finally:
            self.registry._encoder_mode = False
        if self.verify:
            self._check(workflow, text)
        return text

    def dumps_full(self, workflow: BpmnWorkflow) -> str:
        """Everything serialized afresh (no fragments): the reference the incremental form must equal."""
        self.registry._encoder_mode = True
        try:
            dct = self.registry.convert(workflow)
        finally:
            self.registry._encoder_mode = False
        _compact(dct)
        dct["format"] = STATE_FORMAT
        return self._json(dct)

    def _workflow_json(self, wf: Any, *, top: bool) -> str:
        rest: dict[str, Any] = {
            "data": self.registry.clean(wf.data), "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success, "completed": wf.completed, "root": str(wf.task_tree.id),
        }
        if top:
            rest["spec_name"] = wf.spec.name
            rest["bpmn_events"] = self.registry.convert(wf.bpmn_events)
            rest["format"] = STATE_FORMAT
            rest["typename"] = self.registry.typenames[wf.__class__]
            subs = ",".join(f'"{k}":{self._workflow_json(sp, top=False)}' for k, sp in wf.subprocesses.items())
            head = f'{{"subprocesses":{{{subs}}},"tasks":{self._tasks_json(wf)},'
        else:
            rest["parent_task_id"] = str(wf.parent_task_id)
            rest["spec"] = wf.spec.name
            rest["typename"] = self.registry.typenames[wf.__class__]
            head = f'{{"tasks":{self._tasks_json(wf)},'
        return head + self._json(rest)[1:]

    def _tasks_json(self, wf: Any) -> str:
        tasks = wf.tasks
        # Keyed by the task objects themselves (identity hashing; a UUID hashes in Python), and
        # remembering each task's parent object with the parent id it was found under.
        cache: dict[Any, tuple[Any, ...]] = wf.__dict__.get(_FRAGMENTS) or {}
        fresh: dict[Any, tuple[Any, ...]] = {}
        parts = []
        for task in tasks.values():
            hit = cache.get(task)
            parent_id = task._parent
            if hit is not None and hit[3] is parent_id:
                parent = hit[2]
            else:
                parent = tasks.get(parent_id) if parent_id is not None else None
            fp = _fingerprint(task, parent)
            if fp is not None and hit is not None and hit[0] == fp:
                piece = hit[1]
            else:
                piece = f'"{task.id}":{self._json(self._task_dict(task, parent))}'
            if fp is not None:
                fresh[task] = (fp, piece, parent, parent_id)
            parts.append(piece)
        wf.__dict__[_FRAGMENTS] = fresh  # tasks that left the tree (pruned, dropped) leave the cache too
        return "{" + ",".join(parts) + "}"

    def _task_dict(self, task: Any, parent: Any) -> dict[str, Any]:
        """The library's ``TaskConverter.to_dict`` already compacted (see ``_TASK_DEFAULTS``), built
        directly: the generic converter costs more than everything else in a step's write.
        ``verify`` compares the result with the library's own conversion."""
        dct: dict[str, Any] = {
            "id": str(task.id), "parent": str(task._parent) if parent is not None else None,
            "children": [str(c) for c in task._children], "last_state_change": task.last_state_change,
            "state": task._state, "task_spec": task.task_spec.name,
        }
        if task.triggered:
            dct["triggered"] = task.triggered
        if task.internal_data:
            dct["internal_data"] = self.registry.clean(task.internal_data)
        data = task.data
        if parent is None:
            if data:
                dct["data"] = data
            dct["delta"] = {}
            return dct
        before = parent.data
        updates = {k: v for k, v in data.items() if k not in before or v != before[k]}
        deletions = [k for k in before if k not in data]
        if updates or deletions:
            dct["delta"] = {"updates": updates, "deletions": deletions}
        return dct

    def _check(self, workflow: BpmnWorkflow, text: str) -> None:
        full = json.loads(self.dumps_full(workflow))
        mine = json.loads(text)
        if mine != full:
            diff = sorted(k for k in set(mine["tasks"]) | set(full["tasks"])
                          if mine["tasks"].get(k) != full["tasks"].get(k))
            raise AssertionError(f"incremental state differs from the full serialization (tasks {diff[:5]}, "
                                 f"keys {sorted(k for k in set(mine) | set(full) if mine.get(k) != full.get(k))})")

    def loads(self, text: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        dct = json.loads(text)
        fmt = dct.pop("format", None)
        if fmt != STATE_FORMAT:
            raise ValueError(f"unknown state format {fmt!r}")
        _expand(dct)
        workflow = self.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
        if self.verify:
            # Seed the fragments as a cached workflow would have them, so that the next write goes
            # through the incremental path (and is checked) even where the suite runs without the
            # workflow cache.
            self.dumps(workflow)
        return workflow

    def full_json(self, workflow: BpmnWorkflow) -> str:
        """What the library stores by default (spec embedded): for the benchmark only."""
        return str(self._full.serialize_json(workflow))
