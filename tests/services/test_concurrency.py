"""Concurrency on PostgreSQL: two writers on one task, two schedulers on the same due timers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text, update
from testsupport import start_waiting, timer_statuses

from rectiflow.db.audit import AuditEvent
from rectiflow.db.runtime import ProcessInstance, Timer, UserTask
from rectiflow.errors import Conflict
from rectiflow.services.workflow import instances, tasks, timers

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("deployed")]


@pytest.fixture
def database_url(request, sqlite_template, tmp_path):
    from testsupport import _require_postgres, truncate_all

    url = _require_postgres()
    truncate_all(url)
    return url


def test_two_sessions_completing_the_same_task_exactly_one_wins(rt, org):
    rt.cache_workflows = False  # each writer must load state from the database, as two processes would
    with rt.sessions.begin() as s:
        iid = instances.start_instance(s, rt, "review_loop", {"subject": "x", "deadline": "2025-04-30"},
                                       unit_id=org["units"]["plant_a"]).id
    with rt.reads() as s:
        task_id = s.scalar(select(UserTask.id).where(UserTask.instance_id == iid, UserTask.status == "ready"))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(note: str) -> None:
        session = rt.sessions()
        try:
            barrier.wait()
            tasks.complete_task(session, rt, task_id, org["actors"]["a_rect"], {"note": note})
            session.commit()
            outcomes.append("ok")
        except Conflict:
            session.rollback()
            outcomes.append("conflict")
        finally:
            session.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]
    with rt.reads() as s:
        ready = s.scalars(select(UserTask).where(UserTask.instance_id == iid, UserTask.status == "ready")).all()
        assert [t.element_id for t in ready] == ["review"]
        completed = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "task.completed"))
        assert completed == 1


def test_two_schedulers_fire_each_timer_once(rt, org):
    rt.cache_workflows = False
    with rt.sessions.begin() as s:
        ids = [instances.start_instance(s, rt, "deadline_escalation", {"subject": f"s{i}", "deadline": "2025-04-30"},
                                        unit_id=org["units"]["plant_a_finance"]).id for i in range(20)]
    rt.clock.set(rt.clock.now() + timedelta(days=120))
    reports = []

    def scheduler() -> None:
        reports.append(timers.tick(rt))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.fired_instances for r in reports) == 20
    with rt.reads() as s:
        statuses = s.scalars(select(Timer.status).where(Timer.instance_id.in_(ids))).all()
        assert statuses == ["fired"] * 20
        fired_events = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timers.fired"))
        assert fired_events == 20
        versions = s.scalars(select(ProcessInstance.version).where(ProcessInstance.id.in_(ids))).all()
        assert set(versions) == {3}  # insert, first state write, exactly one firing


def test_an_instance_changed_during_a_timer_batch_is_a_conflict_for_it_alone(rt, org, monkeypatch):
    """(PostgreSQL only: on SQLite nothing can write while a batch holds the write lock.)"""
    waiting = start_waiting(rt, org)
    other = create_engine(rt.settings.database_url)
    real = instances.load

    def racing(session, rt_, instance_id, **kw):
        inst = real(session, rt_, instance_id, **kw)
        if instance_id == waiting[1]:  # another process writes this instance right after each load
            with other.begin() as conn:
                conn.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                             .values(version=ProcessInstance.version + 1))
        return inst

    monkeypatch.setattr(instances, "load", racing)
    rt.settings = rt.settings.with_(timer_batch=3)
    try:
        report = timers.tick(rt)
    finally:
        other.dispose()
    assert (report.fired_instances, report.conflicts, report.failures) == (4, 1, 1)
    got, _ = timer_statuses(rt, waiting)
    assert got[1] == ("running", "waiting")
    monkeypatch.setattr(instances, "load", real)
    assert timers.tick(rt).fired_instances == 1  # fired on the next tick
    with rt.reads() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timers.fired", AuditEvent.object_id == str(waiting[1]))) == 1
        assert s.execute(text("SELECT count(*) FROM timers WHERE status = 'waiting'")).scalar_one() == 1
