"""Starting instances and the triggers that are not user tasks: timers, messages, service results,
administrative actions (suspend, resume, terminate)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow import engine
from rectiflow.db.runtime import ProcessInstance, Timer, UserTask
from rectiflow.domain.vocab import InstanceStatus, Role, TaskStatus, TimerStatus
from rectiflow.errors import Conflict, NotFound
from rectiflow.i18n import N_
from rectiflow.services import audit
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow.definitions import bundle_for, latest_definition
from rectiflow.services.workflow.triggers import Trigger, _script_engine, finish, load, run_trigger


def start_instance(session: Session, rt: Runtime, process_key: str, data: dict[str, Any] | None = None, *,
                   actor: str = "system", business_key: str = "", title: str = "", unit_id: int | None = None,
                   parent_id: int | None = None) -> ProcessInstance:
    definition = latest_definition(session, process_key)
    bundle = bundle_for(session, rt, definition)
    proc = bundle.processes[process_key]
    now = rt.clock.now()
    inst = ProcessInstance(definition_id=definition.id, process_key=process_key, business_key=business_key,
                           title=title or proc.name, status=InstanceStatus.RUNNING, unit_id=unit_id,
                           parent_id=parent_id, state="", audit_seq=0, audit_head="", started_by=actor, created_at=now,
                           updated_at=now)
    session.add(inst)
    session.flush()  # the id is part of the data the diagram sees
    trig_ref: list[Trigger] = []
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, _script_engine(session, rt, trig_ref),
                             {**(data or {}), "instance_id": inst.id})
    trig = Trigger(inst, wf, bundle, actor, definition.files.get("forms", {}))
    trig_ref.append(trig)
    try:
        engine.run(wf, rt.clock)
    except Exception as exc:
        if engine.is_engine_error(exc):
            from rectiflow.services.workflow.triggers import EngineFailure

            raise EngineFailure(N_("The process failed at its start."), detail=str(exc)) from exc
        raise
    finish(session, rt, trig, "instance.started",
           {"process": process_key, "version": definition.version, "business_key": business_key})
    return inst


def fire_timers(session: Session, rt: Runtime, instance_id: int) -> Trigger:
    inst = load(session, rt, instance_id)
    return run_trigger(session, rt, inst, "scheduler", "timers.fired",
                       lambda wf: engine.fire_timers(wf, rt.clock))


def complete_service_task(session: Session, rt: Runtime, instance_id: int, task_id: str, result: Any) -> Trigger:
    inst = load(session, rt, instance_id)
    return run_trigger(session, rt, inst, "worker", "service.completed",
                       lambda wf: engine.complete_service_task(wf, task_id, result, rt.clock),
                       {"task_id": task_id})


def deliver_message(session: Session, rt: Runtime, instance_id: int, name: str, payload: dict[str, Any],
                    actor: str) -> Trigger:
    inst = load(session, rt, instance_id)
    delivered: list[bool] = []

    def apply(wf: Any) -> None:
        delivered.append(engine.deliver_message(wf, name, payload, rt.clock))

    trig = run_trigger(session, rt, inst, actor, "message.delivered", apply, {"message": name})
    if not delivered[0]:
        raise Conflict(N_("Instance %(id)s is not waiting for the message “%(name)s”."), id=instance_id, name=name)
    return trig


# What an administrator may set (the key) and from which statuses.
TRANSITIONS: dict[str, frozenset[str]] = {
    InstanceStatus.SUSPENDED: frozenset({InstanceStatus.RUNNING, InstanceStatus.ERROR}),
    InstanceStatus.RUNNING: frozenset({InstanceStatus.SUSPENDED}),
    InstanceStatus.TERMINATED: frozenset({InstanceStatus.RUNNING, InstanceStatus.SUSPENDED, InstanceStatus.ERROR}),
}


def set_status(session: Session, rt: Runtime, instance_id: int, status: str, actor: Actor, reason: str = "") -> None:
    """Suspend, resume or terminate. A suspended instance accepts no trigger; its timers wait."""
    actor.require_role(Role.ADMIN)
    inst = session.get(ProcessInstance, instance_id, with_for_update=True)
    if inst is None:
        raise NotFound(N_("Process instance %(id)s not found."), id=instance_id)
    if status not in TRANSITIONS or inst.status not in TRANSITIONS[status]:
        raise Conflict(N_("An instance cannot change from %(instance_status)s to %(target_status)s."),
                       instance_status=inst.status, target_status=status)
    now = rt.clock.now()
    inst.status, inst.updated_at = status, now
    if status == InstanceStatus.TERMINATED:
        inst.completed_at = now
        ready = select(UserTask).where(UserTask.instance_id == inst.id, UserTask.status == TaskStatus.READY)
        for row in session.scalars(ready):
            row.status, row.completed_at = TaskStatus.CANCELLED, now
        waiting = select(Timer).where(Timer.instance_id == inst.id, Timer.status == TimerStatus.WAITING)
        for t in session.scalars(waiting):
            t.status = TimerStatus.CANCELLED
    audit.record(session, at=now, actor=actor.username, action=f"instance.{status}", object_type="instance",
                 object_id=str(inst.id), payload={"reason": reason}, instance=inst)
    session.flush()
