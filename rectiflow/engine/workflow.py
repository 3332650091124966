"""Operations on one workflow object: the only place that touches SpiffWorkflow's task API.

Every operation checks the task's state first: ``Task.run()`` and ``Task.complete()`` in the
library will happily complete a FUTURE or CANCELLED task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # the dialect our parser emits
from SpiffWorkflow.util.task import TaskState

from rectiflow.clock import Clock
from rectiflow.engine.pruning import prune
from rectiflow.engine.script_engine import RectiflowScriptEngine
from rectiflow.engine.specs import DeferrableServiceTask
from rectiflow.engine.timeclock import using_clock


class TaskNotReady(Exception):
    """The task does not exist in this workflow or is not in a state that allows the action."""


@dataclass(frozen=True)
class ReadyTask:
    task_id: str
    process_id: str
    element_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    process_id: str
    element_id: str
    due_at: datetime


@dataclass(frozen=True)
class DeferredService:
    task_id: str
    process_id: str
    element_id: str
    operation: str
    params: dict[str, Any]
    result_variable: str


def new_workflow(spec: Any, subprocess_specs: dict[str, Any], engine: RectiflowScriptEngine,
                 data: dict[str, Any] | None = None) -> BpmnWorkflow:
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
    if data:
        # Data given at start lands on the start task, so the first element sees it.
        wf.task_tree.data.update(data)
        for child in wf.task_tree.children:
            child.data.update(data)
    return wf


def attach(wf: BpmnWorkflow, engine: RectiflowScriptEngine) -> None:
    """The script engine is not serialized: re-attach it (with this trigger's dispatcher)."""
    wf.script_engine = engine


def run(wf: BpmnWorkflow, clock: Clock) -> None:
    """Run to the next wait state, then drop the finished part of the task tree."""
    with using_clock(clock):
        wf.do_engine_steps()
    prune(wf)


def _tasks_in(wf: BpmnWorkflow, state: int) -> list[Any]:
    """Tasks of the workflow and its subprocesses in ``state``, in the library's (depth-first) order.

    A scan of the task maps first: ``get_tasks`` walks the whole tree through properties and costs
    several times more, and nearly every step has at most one such task, where order is moot. Only
    when there are several is the library asked, for its order."""
    found = [t for t in wf.tasks.values() if t._state == state]
    for sp in wf.subprocesses.values():
        found.extend(t for t in sp.tasks.values() if t._state == state)
    return list(wf.get_tasks(state=state)) if len(found) > 1 else found


def ready_user_tasks(wf: BpmnWorkflow) -> list[ReadyTask]:
    return [
        ReadyTask(str(t.id), t.workflow.spec.name, t.task_spec.bpmn_id or t.task_spec.name, t.data)
        for t in _tasks_in(wf, TaskState.READY) if t.task_spec.manual
    ]


def waiting_timers(wf: BpmnWorkflow) -> list[WaitingTimer]:
    out = []
    for t in _tasks_in(wf, TaskState.WAITING):
        definition = getattr(t.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = t.internal_data.get("event_value")
        if value is None:
            continue
        due_text = value["next"] if isinstance(value, dict) else value
        due = TimerEventDefinition.get_datetime(due_text)
        # The library's datetime is our clocked subclass (see timeclock); hand out a plain one.
        plain = datetime.fromtimestamp(due.timestamp(), UTC)
        out.append(WaitingTimer(str(t.id), t.workflow.spec.name, t.task_spec.bpmn_id or t.task_spec.name, plain))
    return out


def deferred_services(wf: BpmnWorkflow) -> list[DeferredService]:
    out = []
    for t in wf.get_tasks(state=TaskState.STARTED):
        spec = t.task_spec
        if isinstance(spec, DeferrableServiceTask):
            params = spec.evaluate_params(t)
            out.append(DeferredService(str(t.id), t.workflow.spec.name, spec.bpmn_id or spec.name,
                                       spec.operation_name, {k: v["value"] for k, v in params.items()},
                                       spec.result_variable))
    return out


def _task(wf: BpmnWorkflow, task_id: str) -> Any:
    try:
        task = wf.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        task = None
    if task is None:
        raise TaskNotReady(f"task {task_id} is not part of this instance")
    return task


def complete_user_task(wf: BpmnWorkflow, task_id: str, data: dict[str, Any], clock: Clock) -> None:
    task = _task(wf, task_id)
    if not task.task_spec.manual or task.state != TaskState.READY:
        raise TaskNotReady(f"task {task_id} is {TaskState.get_name(task.state)}, not a ready user task")
    task.data.update(data)
    with using_clock(clock):
        task.run()
        wf.do_engine_steps()
    prune(wf)


def complete_service_task(wf: BpmnWorkflow, task_id: str, result: Any, clock: Clock) -> None:
    task = _task(wf, task_id)
    if not isinstance(task.task_spec, DeferrableServiceTask) or task.state != TaskState.STARTED:
        raise TaskNotReady(f"task {task_id} is {TaskState.get_name(task.state)}, not a waiting service task")
    task.data[task.task_spec.result_variable] = result
    with using_clock(clock):
        task.complete()
    run(wf, clock)


def fire_timers(wf: BpmnWorkflow, clock: Clock) -> None:
    with using_clock(clock):
        wf.refresh_timers()
    run(wf, clock)


def deliver_message(wf: BpmnWorkflow, name: str, payload: dict[str, Any], clock: Clock) -> bool:
    """Return False when no task is waiting for the message (nothing changes then)."""
    waiting = {e.name for e in wf.waiting_events()}
    if name not in waiting:
        return False
    with using_clock(clock):
        wf.catch(BpmnEvent(MessageEventDefinition(name), payload))
    run(wf, clock)
    return True


def is_completed(wf: BpmnWorkflow) -> bool:
    return bool(wf.is_completed())


def task_count(wf: BpmnWorkflow) -> int:
    return len(wf.tasks) + sum(len(sp.tasks) for sp in wf.subprocesses.values())
