"""Moving chosen running instances to another deployed version of their process.

A deliberate action, separate from deploy: first a dry run (nothing written) shows for each instance
what would change and whether it is refused; then the migration itself, one transaction per
instance: load → migrate → write the state and the new ``definition_id`` together, with the
optimistic version check (a concurrent trigger makes it a Conflict), and an audit event on the
instance's chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rectiflow import engine
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, UserTask
from rectiflow.domain.vocab import InstanceStatus, TaskStatus
from rectiflow.engine import migration
from rectiflow.errors import Conflict, NotFound
from rectiflow.i18n import N_
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow.definitions import bundle_for, definition_info
from rectiflow.services.workflow.projections import snapshot
from rectiflow.services.workflow.triggers import Trigger, _script_engine, finish

# Instances that have not ended: only they can move to another version.
ACTIVE = (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED, InstanceStatus.ERROR)


@dataclass
class DryRun:
    instance_id: int
    instance_version: int
    from_version: int
    to_version: int
    plan: migration.MigrationPlan
    ready_before: list[str]
    ready_after: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "instance_version": self.instance_version,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "ready_before": self.ready_before,
            "ready_after": self.ready_after,
            **self.plan.as_dict(),
        }


def candidates(session: Session, key: str) -> list[ProcessInstance]:
    """Active instances of ``key`` not on its newest version."""
    newest = session.scalar(
        select(ProcessDefinition.id)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    if newest is None:
        raise NotFound(N_("Process “%(key)s” is not deployed."), key=key)
    return list(
        session.scalars(
            select(ProcessInstance)
            .where(
                ProcessInstance.process_key == key,
                ProcessInstance.status.in_(ACTIVE),
                ProcessInstance.definition_id != newest,
            )
            .order_by(ProcessInstance.id)
        )
    )


def _target(session: Session, inst: ProcessInstance, target_id: int) -> ProcessDefinition:
    target = session.get(ProcessDefinition, target_id)
    if target is None or target.key != inst.process_key:
        raise NotFound(N_("Version %(id)s of process “%(key)s” not found."), id=target_id, key=inst.process_key)
    if target.id == inst.definition_id:
        raise Conflict(N_("Instance %(id)s already runs version %(version)s."), id=inst.id, version=target.version)
    return target


def _load(session: Session, rt: Runtime, inst: ProcessInstance) -> tuple[Any, Any]:
    old = definition_info(session, rt, inst.definition_id)
    proc = bundle_for(session, rt, old).processes[inst.process_key]
    # Always from the stored state: the cached object may be shared with the next trigger.
    return old, rt.serializer.loads(inst.state, proc.spec, proc.subprocess_specs)


def _ready(wf: Any) -> list[str]:
    return sorted(t.element_id for t in engine.ready_user_tasks(wf))


def dry_run(session: Session, rt: Runtime, instance_id: int, target_id: int) -> DryRun:
    """What migrating would do, computed on a throw-away copy. Writes nothing."""
    inst = session.get(ProcessInstance, instance_id)
    if inst is None:
        raise NotFound(N_("Process instance %(id)s not found."), id=instance_id)
    target = _target(session, inst, target_id)
    old, wf = _load(session, rt, inst)
    before = _ready(wf)
    proc = bundle_for(session, rt, target).processes[inst.process_key]
    trig_ref: list[Trigger] = []
    engine.attach(wf, _script_engine(session, rt, trig_ref))
    plan = migration.apply(rt.serializer.registry, wf, proc.spec, proc.subprocess_specs)
    if plan.allowed and inst.status not in ACTIVE:
        plan.allowed = False
        plan.reasons.append(f"the instance is {inst.status}")
    after = _ready(wf) if plan.allowed else before
    return DryRun(inst.id, inst.state_version, old.version, target.version, plan, before, after)


def migrate(
    session: Session, rt: Runtime, instance_id: int, target_id: int, *, actor: str, expected_version: int | None = None
) -> migration.MigrationPlan:
    """Migrate one instance in the caller's transaction. Conflict when refused or when the instance
    changed since the dry run (``expected_version``) or changes while we write."""
    inst = session.get(ProcessInstance, instance_id)
    if inst is None:
        raise NotFound(N_("Process instance %(id)s not found."), id=instance_id)
    if inst.status not in ACTIVE:
        raise Conflict(N_("Instance %(id)s is %(instance_status)s."), id=inst.id, instance_status=inst.status)
    if expected_version is not None and expected_version != inst.state_version:
        raise Conflict(N_("Instance %(id)s changed since the dry run; run the dry run again."), id=inst.id)
    target = _target(session, inst, target_id)
    old, wf = _load(session, rt, inst)
    bundle = bundle_for(session, rt, target)
    proc = bundle.processes[inst.process_key]
    trig_ref: list[Trigger] = []
    engine.attach(wf, _script_engine(session, rt, trig_ref))
    before = snapshot(wf)
    plan = migration.apply(rt.serializer.registry, wf, proc.spec, proc.subprocess_specs)
    if not plan.allowed:
        raise Conflict(N_("Instance %(id)s cannot be migrated: %(reasons)s"), id=inst.id, reasons=plan.reasons)
    trig = Trigger(inst, wf, bundle, actor, target.files.get("forms", {}), before=before)
    trig_ref.append(trig)
    if inst.status == InstanceStatus.RUNNING:
        engine.run(wf, rt.clock)
    inst.definition_id = target.id
    finish(
        session,
        rt,
        trig,
        "instance.migrated",
        {
            "from_version": old.version,
            "to_version": target.version,
            "from_definition": old.id,
            "to_definition": target.id,
            **plan.as_dict(),
        },
    )
    _refresh_user_tasks(session, trig)
    session.flush()
    return plan


def _refresh_user_tasks(session: Session, trig: Trigger) -> None:
    """Ready tasks that kept their id now belong to the new version: name, role and form follow it."""
    for t in engine.ready_user_tasks(trig.workflow):
        meta = trig.bundle.user_tasks.get((t.process_id, t.element_id))
        if meta is None:
            continue
        session.execute(
            update(UserTask)
            .where(UserTask.id == t.task_id, UserTask.status == TaskStatus.READY)
            .values(
                name=meta.name,
                role=meta.role or "",
                form_key=meta.form_key,
                form_hash=trig.forms.get(meta.form_key or ""),
            )
        )
