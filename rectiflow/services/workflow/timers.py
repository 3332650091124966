"""Claiming and firing due timers, a batch of instances per transaction.

Exactly once: the timer row flips from waiting to fired in the same transaction as the instance
state, under the instance's optimistic lock; a second scheduler that loaded the same version loses
with a Conflict and writes nothing.

On PostgreSQL several schedulers (worker processes) share the work without meeting: each firing
transaction *claims* a batch of instances with ``SELECT … FOR UPDATE OF timers SKIP LOCKED LIMIT n``
over the due timers, so two workers never pick the same instance and never read the same list of
ids to fight over. The row locks are held until that transaction commits, when the timers are no
longer waiting. An instance that fails rolls back alone (see ``fire_batch``). A
crash releases the locks with the connection; the timers are still waiting and the next tick fires
them (timers that fell due while everything was down fire on restart).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rectiflow.db.runtime import ProcessInstance, Timer
from rectiflow.domain.vocab import InstanceStatus, TimerStatus
from rectiflow.errors import Conflict, NotFound
from rectiflow.services.runtime import Runtime
from rectiflow.services.uow import savepoint
from rectiflow.services.workflow import instances
from rectiflow.services.workflow.triggers import EngineFailure, record_engine_incident

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    claimed: int = 0
    fired_instances: int = 0
    conflicts: int = 0
    failures: int = 0


def _due(now: datetime, exclude: set[int] | None = None) -> Select[int]:
    q = (select(Timer.instance_id).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
         .where(Timer.status == TimerStatus.WAITING, Timer.due_at < now,
                ProcessInstance.status == InstanceStatus.RUNNING))
    if exclude:
        q = q.where(Timer.instance_id.not_in(exclude))
    return q.order_by(Timer.due_at)


def due_instance_ids(rt: Runtime, limit: int = 200) -> list[int]:
    """Instances with a waiting timer that is due. One indexed range scan on (status, due_at)."""
    with rt.reads() as s:
        rows = s.execute(_due(rt.clock.now()).limit(limit)).scalars().all()
    return list(dict.fromkeys(rows))


def _claim(session: Session, rt: Runtime, limit: int, exclude: set[int]) -> list[int]:
    """Due instances for this transaction. On PostgreSQL their due timer rows stay locked until it
    commits and other workers skip them; SQLite has one writer at a time anyway."""
    q = _due(rt.clock.now(), exclude).limit(limit)
    if not rt.settings.is_sqlite:
        q = q.with_for_update(of=Timer, skip_locked=True)
    return list(dict.fromkeys(session.execute(q).scalars()))


def fire_batch(rt: Runtime, exclude: set[int] | None = None, size: int | None = None) -> tuple[list[int], TickReport]:
    """Claim up to ``size`` due instances and fire them under one commit.

    Unlike the services, this commits, so it is given the runtime and opens its transactions from
    the session factory (``rt.sessions``) itself: the worker tick calls it with no transaction of its
    own. The batch is one transaction; an incident for an instance that failed in it is written in
    a transaction of its own afterwards, since the failure rolled that instance's work back.

    A year-end milestone makes every problem of a round fall due at the same instant; one commit per
    instance made that burst wait on the database's log flush thousands of times. The batch first runs
    in a single savepoint; if any instance in it fails or loses a race, that savepoint rolls back and
    the batch runs again with a savepoint per instance, so the failing one (Conflict: another worker
    fired it first; any other error: an incident, and it stops being claimed) rolls back alone while
    the others commit together. Returns the claimed ids (empty: nothing claimable)."""
    report = TickReport()
    failures: list[tuple[int, str]] = []
    with rt.sessions.begin() as session:
        ids = _claim(session, rt, size or rt.settings.timer_batch, exclude or set())
        if not ids:
            return ids, report
        report.claimed = len(ids)
        # One query puts every claimed instance in the session: each trigger's lookup is then free.
        # (Held in a local: the session's identity map keeps only weak references.)
        loaded = session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))).all()
        try:
            with savepoint(session):  # the common case: every instance fires, two round trips saved on each
                for iid in ids:
                    instances.fire_timers(session, rt, iid)
            report.fired_instances = len(ids)
        except Exception:  # noqa: BLE001 - sorted out one by one below
            for iid in ids:
                try:
                    with savepoint(session):
                        instances.fire_timers(session, rt, iid)
                    report.fired_instances += 1
                except (Conflict, NotFound):
                    report.conflicts += 1
                except Exception as exc:  # noqa: BLE001 - one broken instance must not block the batch
                    report.failures += 1
                    failures.append((iid, str(exc)))
                    if not isinstance(exc, EngineFailure):
                        log.exception("timer firing failed on instance %s", iid)
    del loaded  # kept alive until the commit above
    for iid, message in failures:  # after the batch: each incident in its own transaction
        log.error("timer firing failed on instance %s: %s", iid, message)
        with rt.sessions.begin() as s:
            record_engine_incident(s, rt.clock, iid, None, message)
    return ids, report


def tick(rt: Runtime, batch: int = 200) -> TickReport:
    """Fire up to ``batch`` due instances, ``settings.timer_batch`` per transaction.
    ``claimed == 0`` means nothing (claimable) was due."""
    report = TickReport()
    seen: set[int] = set()  # an instance whose timer stays waiting is not claimed twice in one tick
    while len(seen) < batch:
        ids, part = fire_batch(rt, seen, min(rt.settings.timer_batch, batch - len(seen)))
        if not ids:
            break
        seen.update(ids)
        report.claimed += part.claimed
        report.fired_instances += part.fired_instances
        report.conflicts += part.conflicts
        report.failures += part.failures
    return report
