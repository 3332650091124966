"""Workers' heartbeats: each worker writes one row per tick; a crashed worker's row goes stale.

A row that has not moved for three ticks is shown as "not responding"; one that has not moved for a
day (or for 500 ticks, whichever is longer) is removed by whichever worker ticks next, so the
administration page lists the workers that exist, not every process that ever ran. Its jobs were
already taken over by the lease (``jobs.claim``): the row only reports."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rectiflow.db.jobs import WorkerHeartbeat


def stale_after(tick_seconds: float) -> timedelta:
    return timedelta(seconds=max(3 * tick_seconds, 30))


def expire_after(tick_seconds: float) -> timedelta:
    return max(timedelta(days=1), timedelta(seconds=500 * tick_seconds))


def beat(session: Session, worker_id: str, now: datetime, current_job: int | None) -> None:
    hb = session.get(WorkerHeartbeat, worker_id)
    if hb is None:
        session.add(WorkerHeartbeat(worker_id=worker_id, hostname=socket.gethostname(), pid=os.getpid(),
                                    started_at=now, last_seen=now, current_job=current_job))
    else:
        hb.last_seen, hb.current_job = now, current_job


def expire(session: Session, now: datetime, tick_seconds: float) -> int:
    """Remove the rows of workers silent for longer than :func:`expire_after`; the number removed."""
    cutoff = now - expire_after(tick_seconds)
    result = session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def listed(session: Session, now: datetime, tick_seconds: float) -> list[tuple[WorkerHeartbeat, bool]]:
    """Every heartbeat, newest first, with whether it has stopped responding."""
    limit = stale_after(tick_seconds)
    rows = session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen.desc()))
    return [(hb, now - hb.last_seen > limit) for hb in rows]
