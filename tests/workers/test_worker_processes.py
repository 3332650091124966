"""Real worker processes on PostgreSQL: four ``rectiflow worker`` processes share 2,000 timers
falling due at once (each fires exactly once), a worker killed with SIGKILL mid-job (the job is
claimed again after its lease and its side effect is not duplicated), SIGTERM finishes the current
job and exits 0, and configuration errors are reported at start naming the variable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from bench.timers_bench import prepare, set_virtual_now, spawn_workers, start_instances, stop_workers, worker_logs
from rectiflow.db.audit import AuditEvent
from rectiflow.db.jobs import Job, WorkerHeartbeat
from rectiflow.db.runtime import ProcessInstance, Timer
from rectiflow.services import jobs

pytestmark = pytest.mark.postgres
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RECTIFLOW = str(Path(sys.executable).parent / "rectiflow")


@pytest.fixture
def database_url(request, sqlite_template, tmp_path):
    from testsupport import _require_postgres, truncate_all

    url = _require_postgres()
    truncate_all(url)
    return url


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def scalar(url: str, sql: str, **params: Any) -> Any:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        eng.dispose()


@pytest.mark.timeout(1200)  # the suite's slowest by far: about 3 minutes on a loaded two-core machine
def test_four_worker_processes_fire_2000_timers_exactly_once(rt, database_url, tmp_path):
    rt.cache_workflows = False
    unit = prepare(rt)
    due = rt.clock.now() + timedelta(days=1)
    ids = start_instances(rt, unit, [due] * 2000)
    set_virtual_now(database_url, due - timedelta(seconds=2))  # every worker reads this shared clock
    procs = spawn_workers(database_url, 4, 0.5, tmp_path)
    try:
        wait_for(lambda: scalar(database_url, "SELECT count(*) FROM worker_heartbeats") == 4, 60, "4 workers")
        wait_for(lambda: scalar(database_url, "SELECT count(*) FROM timers WHERE status = 'waiting'") == 0,
                 240, "all timers fired")
        time.sleep(1.0)  # a straggler would show up as a second firing now
    finally:
        codes = stop_workers(procs)
    assert codes == [0, 0, 0, 0], worker_logs(procs)
    with rt.reads() as s:
        statuses = dict(s.execute(select(Timer.status, func.count()).where(Timer.instance_id.in_(ids))
                                  .group_by(Timer.status)).all())
        assert statuses == {"fired": 2000}
        per_instance = dict(s.execute(
            select(AuditEvent.object_id, func.count()).where(AuditEvent.action == "timers.fired")
            .group_by(AuditEvent.object_id)).all())
        assert len(per_instance) == 2000 and set(per_instance.values()) == {1}
        assert set(per_instance) == {str(i) for i in ids}
        versions = set(s.scalars(select(ProcessInstance.version).where(ProcessInstance.id.in_(ids))))
        assert versions == {3}  # insert, first state write, exactly one firing
        assert set(s.scalars(select(ProcessInstance.status).where(ProcessInstance.id.in_(ids)))) == {"completed"}
        assert s.scalar(select(func.count()).select_from(WorkerHeartbeat)) == 0  # signed off on SIGTERM
        assert all(t >= 0 for t in s.scalars(select(Timer.lateness_s)))


def _side_tables(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS test_effects, test_attempts"))
        conn.execute(text("CREATE TABLE test_effects (key text PRIMARY KEY, pid int NOT NULL)"))
        conn.execute(text("CREATE TABLE test_attempts (id serial PRIMARY KEY, key text NOT NULL, pid int NOT NULL)"))
    eng.dispose()


def _queue(rt: Any, params: dict[str, Any]) -> int:
    with rt.sessions.begin() as s:
        job_id = jobs.enqueue(s, rt.clock, "test.effect", params)
        assert job_id is not None
        return job_id


def _worker(url: str, tmp: Path, lease: int = 60) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RECTIFLOW_DATABASE_URL": url, "RECTIFLOW_TICK_SECONDS": "0.2",
           "RECTIFLOW_JOB_LEASE_SECONDS": str(lease), "RECTIFLOW_INSTANCE_DIR": str(tmp),
           "RECTIFLOW_SECRET_KEY": "test", "RECTIFLOW_CLOCK": "wall"}
    env.pop("RECTIFLOW_SMTP_URL", None)
    log_path = tmp / f"worker-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, str(HERE / "worker_proc.py")], env=env, cwd=ROOT,
                                stdout=log_file, stderr=subprocess.STDOUT)
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def _job(rt: Any, job_id: int) -> Job:
    with rt.reads() as s:
        return s.get(Job, job_id)


def test_a_worker_killed_mid_job_the_job_is_claimed_again_after_the_lease_and_not_duplicated(
        rt, database_url, tmp_path):
    from rectiflow.clock import WallClock

    rt.clock = WallClock()  # the worker processes run on the wall clock
    _side_tables(database_url)
    job_id = _queue(rt, {"sleep": 60, "sleep_first_only": True})
    first = _worker(database_url, tmp_path, lease=3)
    try:
        wait_for(lambda: scalar(database_url, "SELECT count(*) FROM test_attempts") == 1, 60, "the first attempt")
        assert _job(rt, job_id).status == "running"
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        killed_at = time.monotonic()
        second = _worker(database_url, tmp_path, lease=3)
        try:
            wait_for(lambda: _job(rt, job_id).status == "done", 60, "the job to be done by the second worker")
            waited = time.monotonic() - killed_at
        finally:
            second.terminate()
            assert second.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()
    job = _job(rt, job_id)
    assert job.attempts == 2 and job.locked_by.split(":")[1] == str(second.pid)  # the second worker ran it
    assert job.result["duplicate_skipped"] is True and job.result["pid"] == second.pid
    assert waited >= 1.5  # not before the lease (3 s from the claim) ran out
    assert scalar(database_url, "SELECT count(*) FROM test_attempts WHERE key = :k", k=f"job:{job_id}") == 2
    assert scalar(database_url, "SELECT count(*) FROM test_effects") == 1
    assert scalar(database_url, "SELECT pid FROM test_effects") == first.pid


def test_sigterm_finishes_the_current_job_and_exits_0(rt, database_url, tmp_path):
    from rectiflow.clock import WallClock

    rt.clock = WallClock()
    _side_tables(database_url)
    job_id = _queue(rt, {"sleep": 3})
    proc = _worker(database_url, tmp_path)
    try:
        wait_for(lambda: scalar(database_url, "SELECT count(*) FROM test_attempts") == 1, 60, "the job to start")
        wait_for(lambda: scalar(database_url, "SELECT current_job FROM worker_heartbeats") is not None
                 or _job(rt, job_id).status == "running", 10, "the heartbeat")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.log_path.read_text()  # type: ignore[attr-defined]
    assert code == 0, output
    assert "finishing the current job" in output
    job = _job(rt, job_id)
    assert (job.status, job.attempts) == ("done", 1)  # finished, not abandoned to its lease
    assert scalar(database_url, "SELECT count(*) FROM worker_heartbeats") == 0


def _cli_worker(env_extra: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECTIFLOW_INSTANCE_DIR": str(tmp), "RECTIFLOW_SECRET_KEY": "test", **env_extra}
    return subprocess.run([RECTIFLOW, "worker"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_worker_refuses_a_bad_smtp_url_naming_the_variable(database_url, tmp_path):
    result = _cli_worker({"RECTIFLOW_DATABASE_URL": database_url, "RECTIFLOW_SMTP_URL": "smtp://mail.test:abc"},
                         tmp_path)
    assert result.returncode != 0
    assert "RECTIFLOW_SMTP_URL" in result.stderr and "port 'abc' is not a number" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_refuses_an_unreachable_database_naming_the_variable(tmp_path):
    from conftest import free_port

    url = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/nowhere"
    result = _cli_worker({"RECTIFLOW_DATABASE_URL": url}, tmp_path)
    assert result.returncode != 0
    assert "RECTIFLOW_DATABASE_URL: cannot reach the database" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
