"""APScheduler drives the worker's ticks; a commit that queued jobs wakes it early."""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from rectiflow.services.runtime import Runtime
from workers.runner import Worker

log = logging.getLogger(__name__)
JOB_ID = "rectiflow-tick"


def _configure(scheduler: Any, worker: Worker, rt: Runtime) -> None:
    scheduler.add_job(worker.tick, "interval", seconds=rt.settings.tick_seconds, id=JOB_ID,
                      coalesce=True, max_instances=1, misfire_grace_time=None, next_run_time=datetime.now())

    def wake() -> None:
        try:
            scheduler.modify_job(JOB_ID, next_run_time=datetime.now())
        except Exception:  # the scheduler is shutting down
            log.debug("wake ignored", exc_info=True)

    rt.on_jobs_queued = wake


def start_background(rt: Runtime) -> tuple[BackgroundScheduler, Worker]:
    """For the embedded server: ticks in a daemon thread inside the web process."""
    worker = Worker(rt)
    scheduler = BackgroundScheduler(daemon=True)
    _configure(scheduler, worker, rt)
    scheduler.start()
    return scheduler, worker


def run_forever(rt: Runtime) -> None:
    """``rectiflow worker``: SIGTERM lets the current job finish, then exits."""
    worker = Worker(rt)
    scheduler = BlockingScheduler()
    _configure(scheduler, worker, rt)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing the current job, then stopping", signum)
        worker.stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker %s started (tick every %ss)", worker.worker_id, rt.settings.tick_seconds)
    scheduler.start()
