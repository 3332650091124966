"""Instance state without its spec.

The library embeds the whole process spec in every serialized workflow (two thirds of the JSON at
start). We store the spec once per deployed version (its BPMN source) and keep only the instance
state per row; loading takes the parsed spec from the cache. Task data may hold ``date``,
``datetime`` and ``Decimal`` values, which the default registry cannot serialize.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

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


class StateSerializer:
    """Dumps and loads workflow state (JSON text) with the spec supplied from outside."""

    def __init__(self) -> None:
        self.registry = _build_registry()
        self._encoder = create_encoder(self.registry)
        # The library's own full serializer, used only to measure what it would have stored.
        full_registry = BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG)
        full_registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
        full_registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
        self._full = BpmnWorkflowSerializer(full_registry)

    def dumps(self, workflow: BpmnWorkflow) -> str:
        self.registry._encoder_mode = True
        try:
            dct = self.registry.convert(workflow)
        finally:
            self.registry._encoder_mode = False
        _compact(dct)
        dct["format"] = STATE_FORMAT
        return json.dumps(dct, cls=self._encoder, ensure_ascii=False, separators=(",", ":"))

    def loads(self, text: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        dct = json.loads(text)
        fmt = dct.pop("format", None)
        if fmt != STATE_FORMAT:
            raise ValueError(f"unknown state format {fmt!r}")
        _expand(dct)
        return self.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)

    def full_json(self, workflow: BpmnWorkflow) -> str:
        """What the library stores by default (spec embedded): for the benchmark only."""
        return str(self._full.serialize_json(workflow))
