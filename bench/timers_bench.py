"""The timers benchmark: N timers fall due at once on PostgreSQL (a year-end milestone), fired by separate
``rectiflow worker`` processes (the real command, on a virtual clock shared through the database).

fired_per_s_1_worker / fired_per_s_2_workers  timers fired per second with 1 and with 2 worker processes (burst of N)
scaling                fired_per_s_2_workers ÷ fired_per_s_1_worker
burst_lateness_*_s     Timer.lateness_s in the burst with 2 workers (grows with N: a backlog)
lateness_p50_s / p99   Timer.lateness_s with 2 workers when timers fall due spread over time at a
                       rate below capacity (the steady state the tick is designed for)
duplicates             timers.fired audit events beyond one per instance, over all runs
missed                 timers still waiting after each run's deadline, over all runs
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from rectiflow.clock import FixedClock
from rectiflow.config import PROJECT_ROOT, load_settings
from rectiflow.db.audit import AuditEvent
from rectiflow.db.runtime import ClockState, ProcessInstance, Timer
from rectiflow.services.accounts import users
from rectiflow.services.runtime import Runtime, build_runtime
from rectiflow.services.workflow import instances
from rectiflow.services.workflow.definitions import Sources, deploy

PG_URL = os.environ.get("RECTIFLOW_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/rectiflow_bench")
START = datetime(2025, 1, 31, 2, tzinfo=UTC)
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def timer_xml() -> bytes:
    """start → wait until ``due`` (an ISO instant from the instance data) → end."""
    from rectiflow.bpmn_layout import layout

    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d_wait" targetNamespace="x">'
           f'<bpmn:process id="wait_until" name="定时" isExecutable="true"><bpmn:laneSet id="ls">'
           f'<bpmn:lane id="rectification_office" name="整改办公室"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
           f'<bpmn:flowNodeRef>wait</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>'
           f'</bpmn:laneSet><bpmn:startEvent id="start"/>'
           f'<bpmn:intermediateCatchEvent id="wait" name="到期"><bpmn:timerEventDefinition id="td">'
           f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">due</bpmn:timeDate>'
           f'</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
           f'<bpmn:sequenceFlow id="a" sourceRef="start" targetRef="wait"/>'
           f'<bpmn:sequenceFlow id="b" sourceRef="wait" targetRef="end"/></bpmn:process></bpmn:definitions>')
    return layout(xml.encode())


def pg(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def make_rt(url: str, tmp: Path) -> Runtime:
    from workers.registry import build_registry

    settings = load_settings({}, instance_dir=tmp, database_url=url, secret_key="bench", clock="virtual")
    return build_runtime(settings, build_registry(), clock=FixedClock(START))


def prepare(rt: Runtime) -> int:
    """Deploy the diagram and one unit; returns the unit id."""
    with rt.sessions.begin() as s:
        deploy(s, rt, Sources(bpmn={"wait_until.bpmn": timer_xml()}, forms={}), actor="bench")
        if s.scalar(select(func.count()).select_from(ProcessInstance)) == 0 and not s.execute(
                text("SELECT 1 FROM units WHERE code = 'u'")).first():
            users.create_unit(s, rt.clock, code="u", name="单位", kind="enterprise")
        return int(s.execute(text("SELECT id FROM units WHERE code = 'u'")).scalar_one())


def start_instances(rt: Runtime, unit_id: int, dues: list[datetime], batch: int = 200) -> list[int]:
    """One waiting timer per instance, created through the service layer (real state, real rows)."""
    ids: list[int] = []
    for k in range(0, len(dues), batch):
        with rt.sessions.begin() as s:
            for due in dues[k:k + batch]:
                ids.append(instances.start_instance(s, rt, "wait_until", {"due": due.isoformat()},
                                                    unit_id=unit_id).id)
    return ids


def set_virtual_now(url: str, when: datetime) -> None:
    """Move the shared virtual clock so that "now" is ``when`` for every process reading it."""
    eng = create_engine(url)
    offset = (when - datetime.now(UTC)).total_seconds()
    with eng.begin() as conn:
        conn.execute(text("DELETE FROM clock_state"))
        conn.execute(ClockState.__table__.insert().values(id=1, offset_seconds=offset, updated_at=when))
    eng.dispose()


def spawn_workers(url: str, n: int, tick: float, instance_dir: Path, *, extra_env: dict[str, str] | None = None,
                  command: list[str] | None = None) -> list[subprocess.Popen[bytes]]:
    """Start ``n`` worker processes (``rectiflow worker`` by default) on the shared virtual clock.
    Their logs go to ``instance_dir/worker-<i>.log`` (a pipe nobody reads would block them)."""
    env = {**os.environ, "RECTIFLOW_DATABASE_URL": url, "RECTIFLOW_CLOCK": "virtual",
           "RECTIFLOW_TICK_SECONDS": str(tick), "RECTIFLOW_INSTANCE_DIR": str(instance_dir),
           "RECTIFLOW_SECRET_KEY": "bench", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("RECTIFLOW_SMTP_URL", None)
    env.update(extra_env or {})
    cmd = command or [str(Path(sys.executable).parent / "rectiflow"), "worker"]
    procs = []
    for i in range(n):
        log_path = instance_dir / f"worker-{i}.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(cmd, env=env, cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT)
        proc.log_path = log_path  # type: ignore[attr-defined]
        procs.append(proc)
    return procs


def worker_logs(procs: list[subprocess.Popen[bytes]]) -> list[str]:
    return [Path(p.log_path).read_text(errors="replace") for p in procs]  # type: ignore[attr-defined]


def wait_heartbeats(url: str, n: int, timeout: float = 60) -> None:
    eng = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with eng.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM worker_heartbeats")).scalar_one() >= n:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{n} workers did not start within {timeout}s")
    finally:
        eng.dispose()


def stop_workers(procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait())
    return codes


def wait_fired(url: str, ids: list[int], timeout: float) -> tuple[float | None, int]:
    """Poll until every timer of ``ids`` fired; returns (seconds of the last firing after the first
    due instant, still waiting)."""
    eng = create_engine(url)
    lo, hi = min(ids), max(ids)
    deadline = time.monotonic() + timeout
    waiting = len(ids)
    try:
        while time.monotonic() < deadline:
            with eng.connect() as conn:
                waiting = conn.execute(text("SELECT count(*) FROM timers WHERE status = 'waiting' "
                                            "AND instance_id BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi}).scalar_one()
            if waiting == 0:
                break
            time.sleep(0.05)
        with eng.connect() as conn:
            span = conn.execute(text("SELECT EXTRACT(EPOCH FROM max(fired_at) - min(due_at)) FROM timers "
                                     "WHERE instance_id BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi}).scalar_one()
        return (float(span) if span is not None else None), waiting
    finally:
        eng.dispose()


def lateness(url: str, ids: list[int]) -> list[float]:
    eng = create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(select(Timer.lateness_s).where(Timer.instance_id.in_(ids), Timer.status == "fired"))
        out = sorted(float(r[0]) for r in rows)
    eng.dispose()
    return out


def duplicates(url: str, ids: list[int]) -> int:
    eng = create_engine(url)
    with eng.connect() as conn:
        fired = conn.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timers.fired",
            AuditEvent.object_id.in_([str(i) for i in ids]))).scalar_one()
    eng.dispose()
    return int(fired) - len(ids)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def burst(url: str, rt: Runtime, unit_id: int, n: int, workers: int, tick: float, tmp: Path) -> dict[str, Any]:
    """N timers due at the same instant; workers already running and idle when it arrives."""
    due = START + timedelta(days=30 + 10 * workers)  # each run on its own day, after the previous one
    rt.clock.set(due - timedelta(days=1))
    ids = start_instances(rt, unit_id, [due] * n)
    _vacuum(url)  # each run starts from the same table state, not from the previous run's dead rows
    set_virtual_now(url, due - timedelta(seconds=3))
    procs = spawn_workers(url, workers, tick, tmp)
    try:
        wait_heartbeats(url, workers)
        span, missed = wait_fired(url, ids, timeout=max(120.0, n / 5))
    finally:
        codes = stop_workers(procs)
        _truncate_heartbeats(url)
    late = lateness(url, ids)
    return {"n": n, "span_s": span, "fired_per_s": n / span if span else 0.0, "missed": missed,
            "duplicates": duplicates(url, ids), "lateness": late, "exit_codes": codes}


def steady(url: str, rt: Runtime, unit_id: int, n: int, window_s: float, workers: int, tick: float,
           tmp: Path) -> dict[str, Any]:
    """N timers due spread evenly over ``window_s`` seconds (below capacity): lateness per timer."""
    first = START + timedelta(days=200)
    rt.clock.set(first - timedelta(days=1))
    dues = [first + timedelta(seconds=window_s * i / n) for i in range(n)]
    ids = start_instances(rt, unit_id, dues)
    set_virtual_now(url, first - timedelta(seconds=3))
    procs = spawn_workers(url, workers, tick, tmp)
    try:
        wait_heartbeats(url, workers)
        _span, missed = wait_fired(url, ids, timeout=window_s + 120)
    finally:
        stop_workers(procs)
        _truncate_heartbeats(url)
    return {"missed": missed, "duplicates": duplicates(url, ids), "lateness": lateness(url, ids)}


def _vacuum(url: str) -> None:
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text("VACUUM ANALYZE timers, process_instances, audit_events"))
    eng.dispose()


def _truncate_heartbeats(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DELETE FROM worker_heartbeats"))
    eng.dispose()


def run(quick: bool = False) -> dict[str, Any]:
    from bench.runtime_bench import _reset_pg

    n = 500 if quick else 2000
    tick = 1.0
    url = pg(PG_URL)
    _reset_pg(url)
    figures: dict[str, Any] = {"n_timers": n, "tick_s": tick}
    with tempfile.TemporaryDirectory() as tmp:
        rt = make_rt(url, Path(tmp))
        rt.cache_workflows = False
        unit_id = prepare(rt)
        one = burst(url, rt, unit_id, n, 1, tick, Path(tmp))
        two = burst(url, rt, unit_id, n, 2, tick, Path(tmp))
        calm = steady(url, rt, unit_id, 200 if quick else 600, 10.0, 2, tick, Path(tmp))
        rt.dispose()
    figures["fired_per_s_1_worker"] = round(one["fired_per_s"], 1)
    figures["fired_per_s_2_workers"] = round(two["fired_per_s"], 1)
    figures["scaling"] = round(two["fired_per_s"] / one["fired_per_s"], 2) if one["fired_per_s"] else None
    figures["burst_lateness_p50_s"] = round(pct(two["lateness"], 0.5), 3)
    figures["burst_lateness_p99_s"] = round(pct(two["lateness"], 0.99), 3)
    figures["lateness_p50_s"] = round(pct(calm["lateness"], 0.5), 3)
    figures["lateness_p99_s"] = round(pct(calm["lateness"], 0.99), 3)
    figures["lateness_target_s"] = tick + 1
    figures["duplicates"] = one["duplicates"] + two["duplicates"] + calm["duplicates"]
    figures["missed"] = one["missed"] + two["missed"] + calm["missed"]
    figures["worker_exit_codes"] = sorted(set(one["exit_codes"] + two["exit_codes"]))
    figures["cpus"] = os.cpu_count()
    return figures


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
