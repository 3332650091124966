"""Claiming and firing due timers. Each instance's timers fire in their own transaction.

Exactly once: the timer row flips from waiting to fired in the same transaction as the instance
state, under the instance's optimistic lock; a second scheduler that loaded the same version loses
with a Conflict and writes nothing. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` keeps several
schedulers from even trying the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

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


def due_instance_ids(rt: Runtime, limit: int = 200) -> list[int]:
    """Instances with a waiting timer that is due. One indexed range scan on (status, due_at)."""
    now = rt.clock.now()
    with rt.reads() as s:
        rows = s.execute(
            select(Timer.instance_id).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
            .where(Timer.status == "waiting", Timer.due_at < now, ProcessInstance.status == "running")
            .order_by(Timer.due_at).limit(limit)
        ).scalars().all()
    return list(dict.fromkeys(rows))


def fire_instance_timers(rt: Runtime, instance_id: int) -> bool:
    """Fire whatever is due on one instance, in one transaction. False if another worker got there."""
    session = rt.sessions()
    try:
        if not rt.settings.is_sqlite:
            now = rt.clock.now()
            locked = session.execute(
                select(Timer.id).where(Timer.instance_id == instance_id, Timer.status == "waiting",
                                       Timer.due_at < now).with_for_update(skip_locked=True)
            ).scalars().all()
            if not locked:
                session.rollback()
                return False
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
    finally:
        session.close()


def tick(rt: Runtime, batch: int = 200) -> TickReport:
    report = TickReport()
    ids = due_instance_ids(rt, batch)
    report.claimed = len(ids)
    for iid in ids:
        try:
            if fire_instance_timers(rt, iid):
                report.fired_instances += 1
            else:
                report.conflicts += 1
        except EngineFailure:
            report.failures += 1
            log.exception("timer firing failed on instance %s", iid)
    return report
