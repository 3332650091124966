"""The worker loop: fire due timers, run queued jobs, queue the daily digests, keep a heartbeat.
Used by the embedded server (in a background thread) and by ``rectiflow worker`` (several processes
side by side)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from rectiflow.db.jobs import WorkerHeartbeat
from rectiflow.services import heartbeats, jobs, notifications
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow import timers

log = logging.getLogger(__name__)
DIGEST_CHECK_EVERY = timedelta(seconds=60)


@dataclass
class TickResult:
    timers_fired: int = 0
    jobs_run: int = 0
    digests_queued: int = 0


class Worker:
    def __init__(self, rt: Runtime, worker_id: str | None = None) -> None:
        self.rt = rt
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stopping = threading.Event()
        self._tick_lock = threading.Lock()
        self.current_job: int | None = None
        self._digest_checked: datetime | None = None

    def tick(self) -> TickResult:
        """One pass; never overlaps itself (APScheduler may call it from two threads on a wake)."""
        if not self._tick_lock.acquire(blocking=False):
            return TickResult()
        try:
            self.heartbeat()
            result = TickResult()
            result.digests_queued = self.schedule_digests()
            while not self.stopping.is_set():
                report = timers.tick(self.rt)
                result.timers_fired += report.fired_instances
                ran = self.run_jobs()
                result.jobs_run += ran
                if report.claimed == 0 and ran == 0:
                    break
            return result
        finally:
            self._tick_lock.release()

    def schedule_digests(self, force: bool = False) -> int:
        """At most once a minute per worker; the jobs' dedupe keys make concurrent workers harmless."""
        now = self.rt.clock.now()
        if not force and self._digest_checked is not None and now - self._digest_checked < DIGEST_CHECK_EVERY:
            return 0
        self._digest_checked = now
        try:
            with self.rt.sessions.begin() as s:
                return notifications.schedule_digests(s, self.rt.clock, self.rt.settings)
        except Exception:
            log.exception("scheduling the daily digests failed")
            return 0

    def run_jobs(self, limit: int = 10) -> int:
        count = 0
        while not self.stopping.is_set():
            ids = jobs.claim(self.rt, self.worker_id, limit)
            if not ids:
                break
            for job_id in ids:
                if self.stopping.is_set():
                    break  # the lease expires and another worker takes the rest
                self.current_job = job_id
                try:
                    jobs.run(self.rt, job_id, self.worker_id)
                except Exception:
                    log.exception("job %s crashed the runner", job_id)
                finally:
                    self.current_job = None
                count += 1
        return count

    def heartbeat(self) -> None:
        """This worker's row, and the removal of rows left by workers that died long ago."""
        now = self.rt.clock.now()
        with self.rt.sessions.begin() as s:
            heartbeats.beat(s, self.worker_id, now, self.current_job)
            heartbeats.expire(s, now, self.rt.settings.tick_seconds)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the running tick (and so the current job) has finished."""
        got = self._tick_lock.acquire(timeout=-1 if timeout is None else timeout)
        if got:
            self._tick_lock.release()
        return got

    def sign_off(self) -> None:
        """A clean stop removes the heartbeat row; a crashed worker's row just goes stale."""
        try:
            with self.rt.sessions.begin() as s:
                s.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id))
        except Exception:
            log.warning("could not remove the heartbeat of %s", self.worker_id, exc_info=True)
