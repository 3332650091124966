"""Timers fire a batch of instances per transaction, each in its own savepoint: one instance that
fails or loses a race rolls back alone, the rest commit, and nothing of the failed one survives
(no row, no cached workflow)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from testsupport import start_waiting, timer_statuses

from rectiflow.config import load_settings
from rectiflow.db.audit import AuditEvent
from rectiflow.db.jobs import Incident
from rectiflow.db.runtime import ProcessInstance
from rectiflow.errors import ConfigurationError
from rectiflow.services import audit
from rectiflow.services.uow import after_commit, savepoint
from rectiflow.services.workflow import timers


@pytest.fixture
def waiting(rt, org):
    return start_waiting(rt, org)


def test_a_failing_instance_rolls_back_alone_and_becomes_an_incident(rt, waiting):
    rt.settings = rt.settings.with_(timer_batch=4)
    report = timers.tick(rt)
    assert (report.claimed, report.fired_instances, report.failures, report.conflicts) == (6, 5, 1, 0)
    got, _ = timer_statuses(rt, waiting)
    assert got == [("completed", "fired")] * 3 + [("error", "waiting")] + [("completed", "fired")] * 2
    with rt.reads() as s:
        [incident] = s.scalars(select(Incident)).all()
        assert incident.instance_id == waiting[3] and "division by zero" in incident.message
        fired = s.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "timers.fired")).all()
        assert sorted(fired) == sorted(str(i) for i in waiting if i != waiting[3])
        assert audit.verify(s).ok
    assert timers.tick(rt).claimed == 0  # the broken one waits for an administrator, not for every tick


def test_batch_size_bounds_each_transaction(rt, waiting):
    rt.settings = rt.settings.with_(timer_batch=2)
    ids, report = timers.fire_batch(rt)
    assert len(ids) == 2 and report.fired_instances == 2
    got, _ = timer_statuses(rt, waiting)
    assert [g[1] for g in got].count("fired") == 2


def test_a_rolled_back_savepoint_runs_none_of_its_after_commit_hooks(rt):
    ran: list[str] = []
    with rt.sessions.begin() as s:
        with savepoint(s):
            after_commit(s, lambda: ran.append("kept"))
        with pytest.raises(RuntimeError), savepoint(s):
            after_commit(s, lambda: ran.append("dropped"))
            raise RuntimeError("this trigger failed")
        with savepoint(s):
            after_commit(s, lambda: ran.append("also kept"))
    assert ran == ["kept", "also kept"]


def test_a_failed_firing_leaves_nothing_in_the_workflow_cache(rt, waiting):
    rt.cache_workflows = True
    rt.workflows.clear()
    timers.tick(rt)
    with rt.reads() as s:
        version = s.scalar(select(ProcessInstance.version).where(ProcessInstance.id == waiting[3]))
    assert rt.workflows.take(waiting[3], version) is None and rt.workflows.take(waiting[3], version + 1) is None
    with rt.reads() as s:
        v0 = s.scalar(select(ProcessInstance.version).where(ProcessInstance.id == waiting[0]))
    assert rt.workflows.take(waiting[0], v0) is not None  # the ones that committed are cached


@pytest.mark.parametrize("value", ["0", "501", "many"])
def test_timer_batch_setting_is_checked(tmp_path, value):
    with pytest.raises(ConfigurationError, match="RECTIFLOW_TIMER_BATCH|invalid number"):
        load_settings({"RECTIFLOW_TIMER_BATCH": value}, instance_dir=tmp_path, secret_key="x")
