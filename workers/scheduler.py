"""APScheduler drives the worker's ticks; a commit that queued jobs wakes it early."""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from rectiflow.errors import ConfigurationError
from rectiflow.services import uow
from rectiflow.services.runtime import Runtime
from workers.runner import Worker

log = logging.getLogger(__name__)
JOB_ID = "rectiflow-tick"


def preflight(rt: Runtime) -> None:
    """Check the configuration a worker needs before it starts, naming the variable at fault:
    the database is reachable and migrated, the SMTP URL parses. Raises ConfigurationError."""
    from rectiflow.db.migrate import current

    try:
        revision = current(rt.settings.database_url)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(
            f"RECTIFLOW_DATABASE_URL: cannot reach the database {rt.db.url.render_as_string()}: {reason}"
        ) from None
    if revision is None:
        raise ConfigurationError("RECTIFLOW_DATABASE_URL: the database has no schema; "
                                 "run `rectiflow db upgrade` first")
    if rt.settings.smtp_url:
        from workers.channels import ChannelConfigError
        from workers.channels.mail import parse_smtp_url

        try:
            parse_smtp_url(rt.settings.smtp_url)
        except ChannelConfigError as exc:
            raise ConfigurationError(f"RECTIFLOW_SMTP_URL: {exc}") from None
    if rt.settings.tick_seconds <= 0:
        raise ConfigurationError("RECTIFLOW_TICK_SECONDS must be positive")
    if rt.settings.job_lease_seconds <= 0:
        raise ConfigurationError("RECTIFLOW_JOB_LEASE_SECONDS must be positive")


def _configure(scheduler: Any, worker: Worker, rt: Runtime) -> None:
    scheduler.add_job(worker.tick, "interval", seconds=rt.settings.tick_seconds, id=JOB_ID,
                      coalesce=True, max_instances=1, misfire_grace_time=None, next_run_time=datetime.now())

    def wake() -> None:
        try:
            scheduler.modify_job(JOB_ID, next_run_time=datetime.now())
        except Exception:  # the scheduler is shutting down
            log.debug("wake ignored", exc_info=True)

    # A commit that queued jobs wakes this worker, so it runs them right away.
    uow.wake_runner_on_commit(rt.sessions, wake)


def start_background(rt: Runtime) -> tuple[BackgroundScheduler, Worker]:
    """For the embedded server: ticks in a daemon thread inside the web process."""
    worker = Worker(rt)
    scheduler = BackgroundScheduler(daemon=True)
    _configure(scheduler, worker, rt)
    scheduler.start()
    return scheduler, worker


def run_forever(rt: Runtime, worker: Worker | None = None) -> None:
    """``rectiflow worker``: SIGTERM (or Ctrl-C) lets the current job finish, then returns, so the
    process exits 0. A job left unfinished by a harder kill is claimed again when its lease expires."""
    worker = worker or Worker(rt)
    scheduler = BlockingScheduler()
    _configure(scheduler, worker, rt)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: finishing the current job, then stopping", signum)
        worker.stopping.set()
        try:
            scheduler.shutdown(wait=False)
        except Exception:  # not running yet / already stopped
            log.debug("shutdown ignored", exc_info=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker %s started (tick every %ss)", worker.worker_id, rt.settings.tick_seconds)
    try:
        scheduler.start()
    finally:
        worker.stopping.set()
        worker.wait_idle()
        worker.sign_off()
        log.info("worker %s stopped", worker.worker_id)
