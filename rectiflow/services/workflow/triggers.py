"""One transaction per trigger: load the instance, apply the trigger, run the engine to the next wait
state, and write state, projections, audit events and jobs together.

Nothing leaves the process before commit: operations that talk to the outside world only queue a
job here; the job runs after commit and completes its service task through another trigger.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from rectiflow import engine
from rectiflow.clock import Clock
from rectiflow.db.jobs import Incident
from rectiflow.db.raw import raw_connection
from rectiflow.db.runtime import ProcessInstance
from rectiflow.domain.vocab import IncidentKind, InstanceStatus
from rectiflow.errors import Conflict, NotFound, RectiflowError
from rectiflow.i18n import N_
from rectiflow.services import audit, jobs
from rectiflow.services.runtime import Runtime
from rectiflow.services.uow import after_commit
from rectiflow.services.workflow.definitions import bundle_for, definition_info
from rectiflow.services.workflow.operations import OperationContext, UnknownOperation
from rectiflow.services.workflow.projections import NextTask, Snapshot, snapshot, sync_projections


class EngineFailure(RectiflowError):
    """The diagram failed while running (a script error, a failing inline operation)."""

    code = "engine_failure"


@dataclass
class InstanceRow:
    """The columns of ``process_instances`` a trigger reads and writes, read with a plain statement
    on the hot path (completing a task) instead of as an ORM object. ``state`` is read only when the
    workflow is not in the cache."""

    id: int
    definition_id: int
    process_key: str
    title: str
    status: str
    unit_id: int | None
    version: int
    state_version: int
    audit_seq: int
    audit_head: str
    state: str | None = None
    completed_at: datetime | None = None


Instance = ProcessInstance | InstanceRow


@dataclass
class Trigger:
    """Accumulates what a trigger produced, for the caller and the audit log."""

    instance: Instance
    workflow: Any
    bundle: engine.ParsedBundle
    actor: str
    forms: dict[str, str] = field(default_factory=dict)  # form key → hash, from the definition
    deferred: list[engine.ServiceCall] = field(default_factory=list)
    # What the projections held before the trigger (they were written from this same state), so
    # syncing is a diff in memory instead of reading the rows back.
    before: Snapshot = field(default_factory=lambda: Snapshot(set(), {}))
    completed_task: str | None = None
    ready_after: list[NextTask] = field(default_factory=list)


def make_dispatcher(session: Session, rt: Runtime, trig_ref: list[Trigger]) -> engine.ServiceDispatcher:
    def dispatch(call: engine.ServiceCall) -> str | None:
        trig = trig_ref[0]
        try:
            op = rt.operations.get(call.operation)
        except UnknownOperation:
            raise RuntimeError(f"operation '{call.operation}' is not registered") from None
        if op.mode == "job":
            trig.deferred.append(call)
            return None
        ctx = OperationContext(session=session, clock=rt.clock, settings=rt.settings,
                               instance_id=trig.instance.id, task_id=call.task_id, data=call.data,
                               actor=trig.actor, runtime=rt)
        return json.dumps(op.fn(ctx, dict(call.params)), default=str, ensure_ascii=False)

    return dispatch


def _script_engine(session: Session, rt: Runtime, trig_ref: list[Trigger]) -> engine.RectiflowScriptEngine:
    return engine.RectiflowScriptEngine(rt.helpers, make_dispatcher(session, rt, trig_ref))


def load(session: Session, rt: Runtime, instance_id: int, *, for_update: bool = False) -> ProcessInstance:
    inst = session.get(ProcessInstance, instance_id, with_for_update=for_update or None)
    if inst is None:
        raise NotFound(N_("Process instance %(id)s not found."), id=instance_id)
    return inst


def run_trigger(session: Session, rt: Runtime, inst: Instance, actor: str, action: str,
                apply: Callable[[Any], None], payload: dict[str, Any] | None = None,
                expected_version: int | None = None, completed_task: str | None = None) -> Trigger:
    """Load the workflow (cache or state), ``apply(workflow)``, write everything.

    Raises Conflict when the instance moved on meanwhile (optimistic lock), EngineFailure when the
    diagram fails; in both cases the caller's transaction must roll back and nothing is written.
    """
    if inst.status not in (InstanceStatus.RUNNING, InstanceStatus.ERROR):
        raise Conflict(N_("Instance %(id)s is %(instance_status)s."), id=inst.id, instance_status=inst.status)
    if expected_version is not None and expected_version != inst.state_version:
        raise Conflict(N_("The instance changed since you loaded it; reload and try again."))
    definition = definition_info(session, rt, inst.definition_id)
    bundle = bundle_for(session, rt, definition)
    proc = bundle.processes[inst.process_key]
    trig_ref: list[Trigger] = []
    wf = rt.workflows.take(inst.id, inst.version) if rt.cache_workflows else None
    script_engine = _script_engine(session, rt, trig_ref)
    if wf is None:
        wf = rt.serializer.loads(_state_of(session, inst), proc.spec, proc.subprocess_specs)
    engine.attach(wf, script_engine)
    trig = Trigger(inst, wf, bundle, actor, definition.files.get("forms", {}), before=snapshot(wf),
                   completed_task=completed_task)
    trig_ref.append(trig)
    try:
        apply(wf)
    except engine.TaskNotReady as exc:
        raise Conflict(N_("This task is not ready any more: it was completed or cancelled meanwhile."),
                       detail=str(exc)) from None
    except RectiflowError:
        raise
    except Exception as exc:
        if engine.is_engine_error(exc):
            raise EngineFailure(N_("The process failed; an administrator can see the details among the incidents."),
                                instance_id=inst.id, detail=str(exc)) from exc
        raise
    finish(session, rt, trig, action, payload or {})
    return trig


def _state_of(session: Session, inst: Instance) -> str:
    if inst.state is None:
        row = raw_connection(session).execute("SELECT state FROM process_instances WHERE id = ?", (inst.id,)).fetchone()
        inst.state = row[0]
    return inst.state


_UPDATE_INSTANCE = ("UPDATE process_instances SET state = ?, version = ?, state_version = ?, updated_at = ?,"
                    " status = ?, completed_at = ?, audit_seq = ?, audit_head = ? WHERE id = ? AND version = ?")
_LOST_RACE = N_("Someone else changed this process meanwhile; reload and try again.")


def finish(session: Session, rt: Runtime, trig: Trigger, action: str, payload: dict[str, Any]) -> None:
    """Write the trigger's outcome: projections, jobs, state (version-checked), audit event.

    Plain statements on the session's connection (``rectiflow.db.raw``): this runs for every step of
    every process, and the ORM's unit of work would cost more than the engine step. ORM work queued
    earlier in the transaction is flushed first, so rows it adds exist before ours refer to them."""
    inst, wf, now = trig.instance, trig.workflow, rt.clock.now()
    session.flush()
    raw = raw_connection(session)
    try:
        trig.ready_after = sync_projections(session, raw, rt, trig, now)
        for call in trig.deferred:
            jobs.enqueue(session, rt.clock, call.operation, call.params,
                         max_attempts=rt.operations.get(call.operation).max_attempts,
                         key=f"svc:{inst.id}:{call.task_id}", instance_id=inst.id, task_id=call.task_id)
        state = rt.serializer.dumps(wf)
        status, completed_at = inst.status, inst.completed_at
        if engine.is_completed(wf) and status == InstanceStatus.RUNNING:
            status, completed_at = InstanceStatus.COMPLETED, now
        seq, version = inst.audit_seq + 1, inst.version + 1
        state_version = (inst.state_version or 1) + 1  # counts state writes the way ``version`` counts row writes
        head = audit.head_after(inst.audit_head, instance_id=inst.id, seq=seq, at=now, actor=trig.actor,
                                action=action, object_type="instance", object_id=str(inst.id), payload=payload)
        cur = raw.execute(_UPDATE_INSTANCE, (state, version, state_version, raw.when(now), status,
                                             raw.when(completed_at), seq, head.digest, inst.id, inst.version))
        if cur.rowcount != 1:
            raise Conflict(_LOST_RACE)
        head.write(raw, session)  # the event and its stream's anchor
    except (raw.integrity_error, IntegrityError) as exc:  # from our statements or the jobs' insert
        # Two writers appending to one instance's audit chain: the loser's (stream, seq) collides.
        if "audit_events" in str(exc):
            raise Conflict(_LOST_RACE) from None
        raise
    _written(session, inst, state=state, version=version, state_version=state_version, updated_at=now, status=status,
             completed_at=completed_at, audit_seq=seq, audit_head=head.digest)
    if rt.cache_workflows:
        iid = inst.id
        after_commit(session, lambda: rt.workflows.put(iid, version, wf))


def _written(session: Session, inst: Instance, **values: Any) -> None:
    """Bring the caller's object, and the session's ORM object for the row if it holds one, in line
    with the row just written. The ORM object gets the values as already committed (not dirty), so a
    later flush neither writes them again nor trips the version check."""
    orm = inst if isinstance(inst, ProcessInstance) else \
        session.identity_map.get(identity_key(ProcessInstance, inst.id))
    if orm is not None:
        for key, value in values.items():
            set_committed_value(orm, key, value)
    if orm is not inst:
        for key, value in values.items():
            setattr(inst, key, value)


def record_engine_incident(session: Session, clock: Clock, instance_id: int, task_id: str | None,
                           message: str) -> None:
    """For the caller to run in a transaction other than the failed trigger's (which rolled back):
    the incident must survive it."""
    session.add(Incident(kind=IncidentKind.ENGINE, instance_id=instance_id, task_id=task_id, message=message[:4000],
                         created_at=clock.now()))
    inst = session.get(ProcessInstance, instance_id)
    if inst is not None and inst.status == InstanceStatus.RUNNING:
        inst.status = InstanceStatus.ERROR  # the scheduler leaves it alone until an administrator retries
