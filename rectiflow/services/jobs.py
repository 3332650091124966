"""Jobs: claimed with a lease, run after commit, retried with exponential backoff, then an incident.

A job's side effect must be idempotent under re-delivery (a worker can die after the effect and
before recording it): operations receive the job's stable idempotency key for that purpose.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from rectiflow.db.jobs import Incident, Job
from rectiflow.errors import Conflict, NotFound
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow.operations import OperationContext

log = logging.getLogger(__name__)
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 3600.0


# Called in the transaction that records a failed attempt: (session, job, error, final). The
# notification outbox uses it to keep Delivery.attempts/last_error current and to mark a delivery
# "dead" when its job runs out of attempts.
FailureHook = Callable[[Session, Job, str, bool], None]
FAILURE_HOOKS: dict[str, FailureHook] = {}


def on_failure(kind: str, hook: FailureHook) -> None:
    FAILURE_HOOKS[kind] = hook


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
                (Job.status == "queued") & (Job.run_after <= now),
                (Job.status == "running") & (Job.lease_until < now)))
             .order_by(Job.run_after).limit(limit))
        if not rt.settings.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if ids:
            s.execute(update(Job).where(Job.id.in_(ids))
                      .values(status="running", lease_until=lease_until, locked_by=worker_id,
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
        if job is None or job.status != "running" or job.locked_by != worker_id:
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

    with rt.sessions() as s:
        try:
            if instance_id is not None and task_id is not None:
                instances.complete_service_task(s, rt, instance_id, task_id, result)
            job = s.get(Job, job_id, with_for_update=True)
            assert job is not None
            job.status, job.result, job.finished_at, job.lease_until = "done", result, rt.clock.now(), None
            s.commit()
        except Conflict:
            # The instance moved meanwhile (or the task was already completed by an earlier run):
            # try the completion again shortly; the operation itself is idempotent.
            s.rollback()
            _reschedule(rt, job_id, timedelta(seconds=1))
            return JobOutcome(job_id, "retry", "instance changed meanwhile")
        except NotFound as exc:
            s.rollback()
            return _failed(rt, job_id, 10**6, 0, str(exc))
    return JobOutcome(job_id, "done")


def _reschedule(rt: Runtime, job_id: int, delay: timedelta) -> None:
    with rt.sessions.begin() as s:
        s.execute(update(Job).where(Job.id == job_id).values(status="queued", run_after=rt.clock.now() + delay,
                                                             lease_until=None, locked_by=None))


def _failed(rt: Runtime, job_id: int, attempts: int, max_attempts: int, error: str,
            retry_after: float | None = None) -> JobOutcome:
    now = rt.clock.now()
    with rt.sessions.begin() as s:
        job = s.get(Job, job_id, with_for_update=True)
        assert job is not None
        job.last_error, job.lease_until, job.locked_by = error[:4000], None, None
        final = attempts >= max_attempts
        hook = FAILURE_HOOKS.get(job.kind)
        if hook is not None:
            hook(s, job, error, final)
        if final:
            job.status, job.finished_at = "failed", now
            s.add(Incident(kind="job", job_id=job.id, instance_id=job.instance_id, task_id=job.task_id,
                           message=f"{job.kind} failed after {attempts} attempts: {error}"[:4000], created_at=now))
            log.warning("job %s (%s) failed for good: %s", job_id, job.kind, error)
            return JobOutcome(job_id, "failed", error)
        job.status, job.run_after = "queued", now + _backoff_for(rt, attempts, retry_after)
    return JobOutcome(job_id, "retry", error)


def retry_incident(rt: Runtime, incident_id: int, actor: str) -> None:
    """Re-queue the job behind an incident (administrators, after fixing the cause)."""
    from rectiflow.services import audit

    with rt.sessions.begin() as s:
        inc = s.get(Incident, incident_id, with_for_update=True)
        if inc is None:
            raise NotFound(f"incident {incident_id} not found")
        if inc.status != "open":
            raise Conflict(f"incident {incident_id} is already {inc.status}")
        now = rt.clock.now()
        if inc.job_id is not None:
            job = s.get(Job, inc.job_id, with_for_update=True)
            assert job is not None
            job.status, job.attempts, job.run_after, job.finished_at = "queued", 0, now, None
        elif inc.instance_id is not None:
            from rectiflow.db.runtime import ProcessInstance

            inst = s.get(ProcessInstance, inc.instance_id)
            if inst is not None and inst.status == "error":
                inst.status = "running"  # its due timers fire again on the next tick
        inc.status, inc.resolved_at, inc.resolved_by = "resolved", now, actor
        audit.record(s, at=now, actor=actor, action="incident.retried", object_type="incident",
                     object_id=str(incident_id), payload={"job_id": inc.job_id})
