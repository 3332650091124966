"""The worker loop: fire due timers, run queued jobs, keep a heartbeat. Used by the embedded server
(in a background thread) and by ``rectiflow worker`` (several processes side by side)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

from rectiflow.db.jobs import WorkerHeartbeat
from rectiflow.services import jobs, timers
from rectiflow.services.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    timers_fired: int = 0
    jobs_run: int = 0


class Worker:
    def __init__(self, rt: Runtime, worker_id: str | None = None) -> None:
        self.rt = rt
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stopping = threading.Event()
        self._tick_lock = threading.Lock()
        self.current_job: int | None = None

    def tick(self) -> TickResult:
        """One pass; never overlaps itself (APScheduler may call it from two threads on a wake)."""
        if not self._tick_lock.acquire(blocking=False):
            return TickResult()
        try:
            self.heartbeat()
            result = TickResult()
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
        now = self.rt.clock.now()
        with self.rt.sessions.begin() as s:
            hb = s.get(WorkerHeartbeat, self.worker_id)
            if hb is None:
                s.add(WorkerHeartbeat(worker_id=self.worker_id, hostname=socket.gethostname(), pid=os.getpid(),
                                      started_at=now, last_seen=now, current_job=self.current_job))
            else:
                hb.last_seen, hb.current_job = now, self.current_job
