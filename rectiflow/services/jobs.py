"""Jobs: queued in the caller's transaction, claimed with a lease, retried with exponential backoff,
then an incident.

Two halves with different transaction rules:

* The queue (``enqueue``, ``requeue``, ``retry_incident``) is an ordinary service: it takes the
  caller's session and never commits. A job queued in a transaction that rolls back never existed,
  and the runner is woken only after the commit (``uow.jobs_queued``).
* The runner (``claim``, ``run``) commits on purpose, several times per job: the claim (the lease)
  must be durable before the operation starts, the operation's own transaction must be able to fail
  without losing the record of the attempt, and the outcome is written after it. A crash between any
  two leaves a state the next claim recovers from (an expired lease). So the runner is given the
  runtime, whose session factory (``rt.sessions``) it uses, instead of a session; only the worker
  loop (``workers.runner``) and tests call it.

A job's side effect must be idempotent under re-delivery (a worker can die after the effect and
before recording it): operations receive the job's stable idempotency key for that purpose.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, or_, select, update
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.jobs import Incident, Job
from rectiflow.domain.vocab import IncidentKind, IncidentStatus, InstanceStatus, JobStatus
from rectiflow.errors import Conflict, NotFound
from rectiflow.i18n import N_
from rectiflow.services import uow
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow.operations import OperationContext

log = logging.getLogger(__name__)
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 3600.0


# ------------------------------------------------------------------------------------------ queue

def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert


def enqueue(session: Session, clock: Clock, kind: str, params: dict[str, Any], *, run_at: datetime | None = None,
            key: str | None = None, max_attempts: int = 5, instance_id: int | None = None,
            task_id: str | None = None) -> int | None:
    """Queue a run of operation ``kind`` with ``params`` in the caller's transaction, due at ``run_at``
    (default: now on the runtime's clock, which may be virtual), and wake the runner after the commit.

    ``key`` makes the job unique: when a job with that key exists (another worker scheduled the
    same digest, a delivery was queued before), nothing is queued and None is returned. Otherwise
    the new job's id."""
    now = clock.now()
    stmt: Insert = _insert(session)(Job).values(
        kind=kind, payload={"params": params}, status=JobStatus.QUEUED, run_after=run_at or now, attempts=0,
        max_attempts=max_attempts, dedupe_key=key, instance_id=instance_id, task_id=task_id, last_error="",
        created_at=now)
    if key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])  # type: ignore[attr-defined]
    job_id = session.execute(stmt.returning(Job.id)).scalar()
    if job_id is not None:
        uow.jobs_queued(session)
    return job_id


def requeue(session: Session, clock: Clock, job: Job) -> None:
    """Make a finished or failed job run again from its first attempt (an administrator's retry)."""
    job.status, job.attempts, job.run_after, job.finished_at = JobStatus.QUEUED, 0, clock.now(), None
    job.lease_until, job.locked_by, job.last_error = None, None, ""
    uow.jobs_queued(session)


def retry_incident(session: Session, clock: Clock, incident_id: int, actor: str) -> None:
    """Re-queue the job behind an incident, or let the instance behind it run again (administrators,
    after fixing the cause)."""
    from rectiflow.services import audit

    inc = session.get(Incident, incident_id, with_for_update=True)
    if inc is None:
        raise NotFound(N_("Incident %(id)s not found."), id=incident_id)
    if inc.status != IncidentStatus.OPEN:
        raise Conflict(N_("Incident %(id)s is already %(incident_status)s."), id=incident_id,
                           incident_status=inc.status)
    now = clock.now()
    if inc.job_id is not None:
        job = session.get(Job, inc.job_id, with_for_update=True)
        assert job is not None
        requeue(session, clock, job)
    elif inc.instance_id is not None:
        from rectiflow.db.runtime import ProcessInstance

        inst = session.get(ProcessInstance, inc.instance_id)
        if inst is not None and inst.status == InstanceStatus.ERROR:
            inst.status = InstanceStatus.RUNNING  # its due timers fire again on the next tick
    inc.status, inc.resolved_at, inc.resolved_by = IncidentStatus.RESOLVED, now, actor
    audit.record(session, at=now, actor=actor, action="incident.retried", object_type="incident",
                 object_id=str(incident_id), payload={"job_id": inc.job_id})


# ----------------------------------------------------------------------------------------- runner

def backoff(attempts: int, base_s: float = BACKOFF_BASE_S) -> timedelta:
    return timedelta(seconds=min(base_s * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def _backoff_for(rt: Runtime, attempts: int, retry_after: float | None) -> timedelta:
    delay = backoff(attempts, float(rt.settings.extra.get("job_backoff_base_s", BACKOFF_BASE_S)))
    if retry_after:  # the receiver said how long to wait (HTTP Retry-After)
        delay = max(delay, timedelta(seconds=min(retry_after, BACKOFF_MAX_S)))
    return delay


def claim(rt: Runtime, worker_id: str, limit: int = 10) -> list[int]:
    """Take up to ``limit`` runnable jobs: queued and due, or running with an expired lease."""
    now = rt.clock.now()
    lease_until = now + timedelta(seconds=rt.settings.job_lease_seconds)
    with rt.sessions.begin() as s:
        q = (select(Job.id).where(or_(
                (Job.status == JobStatus.QUEUED) & (Job.run_after <= now),
                (Job.status == JobStatus.RUNNING) & (Job.lease_until < now)))
             .order_by(Job.run_after).limit(limit))
        if not rt.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if ids:
            s.execute(update(Job).where(Job.id.in_(ids))
                      .values(status=JobStatus.RUNNING, lease_until=lease_until, locked_by=worker_id,
                              attempts=Job.attempts + 1))
    return ids


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    status: str
    error: str = ""


def run(rt: Runtime, job_id: int, worker_id: str) -> JobOutcome:
    with rt.sessions() as s:
        job = s.get(Job, job_id)
        if job is None or job.status != JobStatus.RUNNING or job.locked_by != worker_id:
            return JobOutcome(job_id, "skipped")
        kind, payload, attempts, max_attempts = job.kind, dict(job.payload), job.attempts, job.max_attempts
        instance_id, task_id = job.instance_id, job.task_id
    try:
        op = rt.operations.get(kind)
        with rt.sessions.begin() as s:
            ctx = OperationContext(session=s, clock=rt.clock, settings=rt.settings, instance_id=instance_id,
                                   task_id=task_id, data={"idempotency_key": f"job:{job_id}"}, actor="worker",
                                   runtime=rt)
            result = op.fn(ctx, dict(payload.get("params", payload)))
            result = json.loads(json.dumps(result, default=str))
    except Exception as exc:  # the operation failed: retry later or give up with an incident
        final = getattr(exc, "retryable", True) is False  # a permanent failure: no point retrying
        return _failed(rt, job_id, max_attempts if final else attempts, max_attempts,
                       f"{type(exc).__name__}: {exc}", getattr(exc, "retry_after", None))
    return _succeeded(rt, job_id, instance_id, task_id, result)


def _succeeded(rt: Runtime, job_id: int, instance_id: int | None, task_id: str | None, result: Any) -> JobOutcome:
    from rectiflow.services.workflow import instances

    try:
        with rt.sessions.begin() as s:
            if instance_id is not None and task_id is not None:
                instances.complete_service_task(s, rt, instance_id, task_id, result)
            job = s.get(Job, job_id, with_for_update=True)
            assert job is not None
            job.status, job.result, job.finished_at, job.lease_until = JobStatus.DONE, result, rt.clock.now(), None
    except Conflict:
        # The instance moved meanwhile (or the task was already completed by an earlier run):
        # try the completion again shortly; the operation itself is idempotent.
        _reschedule(rt, job_id, timedelta(seconds=1))
        return JobOutcome(job_id, "retry", "instance changed meanwhile")
    except NotFound as exc:
        return _failed(rt, job_id, 10**6, 0, str(exc))
    return JobOutcome(job_id, "done")


def _reschedule(rt: Runtime, job_id: int, delay: timedelta) -> None:
    with rt.sessions.begin() as s:
        s.execute(update(Job).where(Job.id == job_id).values(status=JobStatus.QUEUED, run_after=rt.clock.now() + delay,
                                                             lease_until=None, locked_by=None))


def _failed(rt: Runtime, job_id: int, attempts: int, max_attempts: int, error: str,
            retry_after: float | None = None) -> JobOutcome:
    now = rt.clock.now()
    with rt.sessions.begin() as s:
        job = s.get(Job, job_id, with_for_update=True)
        assert job is not None
        job.last_error, job.lease_until, job.locked_by = error[:4000], None, None
        final = attempts >= max_attempts
        # Composed with the operations (``OperationRegistry.on_failure``): the notification outbox
        # keeps a delivery's attempts and last error current and marks it dead on the final failure.
        hook = rt.operations.failure_hook(job.kind)
        if hook is not None:
            hook(s, job, error, final)
        if final:
            job.status, job.finished_at = JobStatus.FAILED, now
            s.add(Incident(kind=IncidentKind.JOB, job_id=job.id, instance_id=job.instance_id, task_id=job.task_id,
                           message=f"{job.kind} failed after {attempts} attempts: {error}"[:4000], created_at=now))
            log.warning("job %s (%s) failed for good: %s", job_id, job.kind, error)
            return JobOutcome(job_id, "failed", error)
        job.status, job.run_after = JobStatus.QUEUED, now + _backoff_for(rt, attempts, retry_after)
    return JobOutcome(job_id, "retry", error)
