"""Claiming and firing due timers. Each instance's timers fire in their own transaction.

Exactly once: the timer row flips from waiting to fired in the same transaction as the instance
state, under the instance's optimistic lock; a second scheduler that loaded the same version loses
with a Conflict and writes nothing.

On PostgreSQL several schedulers (worker processes) share the work without meeting: each firing
transaction *claims* its instance with ``SELECT … FOR UPDATE OF timers SKIP LOCKED LIMIT 1`` over
the due timers, so two workers never pick the same instance and never read the same list of ids to
fight over. The row lock is held until that transaction commits, when the timer is no longer
waiting. A crash releases the lock with the connection; the timer is still waiting and the next
tick fires it (timers that fell due while everything was down fire on restart).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rectiflow.db.runtime import ProcessInstance, Timer
from rectiflow.errors import Conflict, NotFound
from rectiflow.services import instances
from rectiflow.services.runtime import Runtime
from rectiflow.services.triggers import EngineFailure, record_engine_incident

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    claimed: int = 0
    fired_instances: int = 0
    conflicts: int = 0
    failures: int = 0


def _due(now: datetime, exclude: set[int] | None = None) -> Select[int]:
    q = (select(Timer.instance_id).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
         .where(Timer.status == "waiting", Timer.due_at < now, ProcessInstance.status == "running"))
    if exclude:
        q = q.where(Timer.instance_id.not_in(exclude))
    return q.order_by(Timer.due_at)


def due_instance_ids(rt: Runtime, limit: int = 200) -> list[int]:
    """Instances with a waiting timer that is due. One indexed range scan on (status, due_at)."""
    with rt.reads() as s:
        rows = s.execute(_due(rt.clock.now()).limit(limit)).scalars().all()
    return list(dict.fromkeys(rows))


def _fire(session: Session, rt: Runtime, instance_id: int) -> bool:
    try:
        instances.fire_timers(session, rt, instance_id)
        session.commit()
        return True
    except (Conflict, NotFound):
        session.rollback()
        return False
    except EngineFailure as exc:
        session.rollback()
        record_engine_incident(rt, instance_id, None, str(exc))
        raise


def fire_instance_timers(rt: Runtime, instance_id: int) -> bool:
    """Fire whatever is due on one instance, in one transaction. False if another worker got there."""
    session = rt.sessions()
    try:
        if not rt.settings.is_sqlite:
            locked = session.execute(
                select(Timer.id).where(Timer.instance_id == instance_id, Timer.status == "waiting",
                                       Timer.due_at < rt.clock.now()).with_for_update(skip_locked=True)
            ).scalars().all()
            if not locked:
                session.rollback()
                return False
        return _fire(session, rt, instance_id)
    finally:
        session.close()


def claim_and_fire_next(rt: Runtime, exclude: set[int]) -> tuple[int | None, str]:
    """PostgreSQL: claim the next due instance no other worker holds and fire it, in one transaction.

    Returns (instance id, "fired" | "conflict" | "failed"), or (None, "") when nothing is claimable."""
    session = rt.sessions()
    try:
        iid = session.execute(
            _due(rt.clock.now(), exclude).limit(1).with_for_update(of=Timer, skip_locked=True)
        ).scalar()
        if iid is None:
            session.rollback()
            return None, ""
        try:
            return iid, "fired" if _fire(session, rt, iid) else "conflict"
        except EngineFailure:
            log.exception("timer firing failed on instance %s", iid)
            return iid, "failed"
    finally:
        session.close()


def tick(rt: Runtime, batch: int = 200) -> TickReport:
    """Fire up to ``batch`` due instances. ``claimed == 0`` means nothing (claimable) was due."""
    report = TickReport()
    if rt.settings.is_sqlite:  # one writer at a time anyway: read the ids, fire one by one
        for iid in due_instance_ids(rt, batch):
            report.claimed += 1
            try:
                if fire_instance_timers(rt, iid):
                    report.fired_instances += 1
                else:
                    report.conflicts += 1
            except EngineFailure:
                report.failures += 1
                log.exception("timer firing failed on instance %s", iid)
        return report
    seen: set[int] = set()  # an instance whose timer stays waiting is not claimed twice in one tick
    while len(seen) < batch:
        claimed, outcome = claim_and_fire_next(rt, seen)
        if claimed is None:
            break
        seen.add(claimed)
        report.claimed += 1
        if outcome == "fired":
            report.fired_instances += 1
        elif outcome == "conflict":
            report.conflicts += 1
        else:
            report.failures += 1
    return report
