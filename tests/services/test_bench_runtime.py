"""The runtime benchmark's measurements run end to end on a small scale (SQLite), so the figures
quoted in docs/performance.md come from code that still works. Timings are not asserted."""

from __future__ import annotations

from sqlalchemy import func, select

from bench import runtime_bench as rb
from rectiflow.db.audit import AuditEvent
from rectiflow.db.migrate import upgrade
from rectiflow.db.runtime import UserTask
from rectiflow.services import audit


def test_each_runtime_measurement_runs_and_the_floor_writes_real_rows(tmp_path):
    url = f"sqlite:///{tmp_path}/bench.db"
    upgrade(url)
    rt = rb.make_rt(url, tmp_path)
    try:
        figures = [rb.engine_step_ms(rb.linear_xml(), rounds=2), rb.persisted_step_ms(rt, rounds=2),
                   rb.naive_step_ms(url, rb.linear_xml(), instances_n=2),
                   rb.engine_step_after_io_ms(rt, rb.linear_xml(), rounds=2),
                   rb.loop_ratio(rt, passes=3, instances_n=1), rb.store_floor_ms(rt, rounds=5)]
        assert all(isinstance(f, float) and f > 0 for f in figures)
        with rt.reads() as s:
            # The floor completes five tasks and inserts five, like five real steps would.
            floor_instance = s.scalar(select(func.max(UserTask.instance_id)))  # the floor ran last
            assert s.scalar(select(func.count()).select_from(UserTask)
                            .where(UserTask.instance_id == floor_instance, UserTask.status == "completed")) == 5
            assert s.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.stream == f"instance:{floor_instance}")) == 6
            # The real steps' chains verify; the floor's placeholder hashes are the only mismatches.
            problems = audit.verify(s).problems
            assert problems and all(f"instance:{floor_instance}:" in p for p in problems)
    finally:
        rt.dispose()
