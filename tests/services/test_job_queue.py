"""The one job queue (``jobs.enqueue``): a job exists only if the caller's transaction commits, and
the runner is woken after that commit, never after a rollback. Services take the caller's session
and never commit. The runner's failure hooks come with the registry it is given."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from testsupport import ROOT

from rectiflow.db.domain import Delivery, Notice
from rectiflow.db.jobs import Incident, Job
from rectiflow.db.org import User
from rectiflow.db.runtime import ProcessInstance
from rectiflow.services import jobs, notifications, uow
from rectiflow.services.runtime import Runtime, build_runtime
from rectiflow.services.workflow.operations import Operation, OperationRegistry, UnknownOperation
from rectiflow.services.workflow.triggers import record_engine_incident


@pytest.fixture
def wakes(rt: Runtime) -> list[int]:
    """Counts the runner's wake-ups, wired the way the scheduler wires them."""
    calls: list[int] = []
    uow.wake_runner_on_commit(rt.sessions, lambda: calls.append(1))
    return calls


def count(rt: Runtime, model: Any) -> int:
    with rt.reads() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_job_queued_in_a_rolled_back_transaction_neither_exists_nor_wakes_the_runner(rt, wakes):
    with rt.sessions() as s:
        assert jobs.enqueue(s, rt.clock, "test.remote", {"subject": "x"}) is not None
        s.rollback()
    assert wakes == [] and count(rt, Job) == 0
    with rt.sessions.begin() as s:
        first = jobs.enqueue(s, rt.clock, "test.remote", {"subject": "a"}, max_attempts=3)
        jobs.enqueue(s, rt.clock, "test.remote", {"subject": "b"})
        assert wakes == []  # not before the commit
    assert wakes == [1]  # once per transaction, however many jobs it queued
    with rt.reads() as s:
        job = s.get(Job, first)
        assert (job.kind, job.payload, job.status, job.max_attempts) == ("test.remote", {"params": {"subject": "a"}},
                                                                         "queued", 3)
        assert job.run_after == rt.clock.now()  # the runtime's clock, which may be virtual


def test_a_job_queued_in_a_savepoint_that_rolls_back_does_not_wake_the_runner(rt, wakes):
    with rt.sessions.begin() as s, pytest.raises(RuntimeError), uow.savepoint(s):
        jobs.enqueue(s, rt.clock, "test.remote", {"subject": "x"})
        raise RuntimeError("the trigger failed")
    assert wakes == [] and count(rt, Job) == 0


def test_a_key_makes_a_job_unique_and_a_duplicate_queues_and_wakes_nothing(rt, wakes):
    later = rt.clock.now() + timedelta(hours=1)
    with rt.sessions.begin() as s:
        assert jobs.enqueue(s, rt.clock, "test.remote", {"subject": "x"}, key="k", run_at=later) is not None
    with rt.sessions.begin() as s:
        assert jobs.enqueue(s, rt.clock, "test.remote", {"subject": "y"}, key="k") is None
    assert wakes == [1] and count(rt, Job) == 1
    with rt.reads() as s:
        assert s.scalar(select(Job.run_after)) == later


def test_retrying_a_dead_delivery_requeues_its_job_and_wakes_the_runner(rt, org, wakes):
    with rt.sessions.begin() as s:
        user = s.get(User, org["actors"]["a_fin"].user_id)
        user.preferences = {"email": False, "webhooks": ["http://127.0.0.1:9/hook"]}
        s.flush()
        notifications.create_notices(s, rt.clock, rt.settings, kind="reminder", subject="请报送", body="",
                                     users=[user], key="k")
    assert wakes == [1]  # the delivery's job
    with rt.sessions.begin() as s:
        delivery = s.scalar(select(Delivery))
        delivery.status = "dead"
        job = s.scalar(select(Job))
        job.status, job.attempts = "failed", 8
    with rt.sessions() as s:  # rolled back: nothing requeued, nobody woken
        notifications.retry_delivery(s, rt.clock, delivery.id, actor="admin")
        s.rollback()
    assert wakes == [1]
    with rt.reads() as s:
        assert (s.scalar(select(Job.status)), s.scalar(select(Delivery.status))) == ("failed", "dead")
    with rt.sessions.begin() as s:
        notifications.retry_delivery(s, rt.clock, delivery.id, actor="admin")
    assert wakes == [1, 1]
    with rt.reads() as s:
        job = s.scalar(select(Job))
        assert (job.status, job.attempts, s.scalar(select(Delivery.status))) == ("queued", 0, "pending")


def test_every_job_row_is_made_by_the_queue():
    """``Job(...)`` or an insert into jobs anywhere but rectiflow/services/jobs.py would bypass the wake-up.
    (Tests may build rows by hand to exercise the schema's own checks.)"""
    pattern = re.compile(r"\bJob\(|insert\(Job\)|INSERT INTO jobs", re.IGNORECASE)
    offenders = []
    for top in ("rectiflow", "workers", "webapp", "rectiflow_cli", "bench", "scripts"):
        for path in (ROOT / top).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() == "rectiflow/services/jobs.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line) and not line.lstrip().startswith("class Job("):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


# ----------------------------------------------------------------- services do not commit


@pytest.fixture
def failed_job(rt: Runtime) -> int:
    """The incident of a job that ran out of attempts (queued before anyone listens for wake-ups)."""
    with rt.sessions.begin() as s:
        job_id = jobs.enqueue(s, rt.clock, "test.remote", {"subject": "x"})
        job = s.get(Job, job_id)
        job.status = "failed"
        incident = Incident(kind="job", job_id=job_id, message="down", created_at=rt.clock.now())
        s.add(incident)
        s.flush()
        return incident.id


def test_retrying_an_incident_in_a_rolled_back_transaction_leaves_everything_as_it_was(rt, failed_job, wakes):
    with rt.sessions() as s:
        jobs.retry_incident(s, rt.clock, failed_job, "admin")
        s.rollback()
    with rt.reads() as s:
        assert s.scalar(select(Incident.status)) == "open" and s.scalar(select(Job.status)) == "failed"
    assert wakes == []
    with rt.sessions.begin() as s:
        jobs.retry_incident(s, rt.clock, failed_job, "admin")
    with rt.reads() as s:
        assert s.scalar(select(Incident.status)) == "resolved" and s.scalar(select(Job.status)) == "queued"
    assert wakes == [1]


def test_recording_an_engine_incident_in_a_rolled_back_transaction_leaves_nothing(rt, org, deployed):
    from rectiflow.services.workflow import instances

    with rt.sessions.begin() as s:
        inst = instances.start_instance(s, rt, "review_loop", {"subject": "资金", "deadline": "2025-04-30"},
                                        actor="test", unit_id=org["units"]["plant_a_finance"])
    with rt.sessions() as s:
        record_engine_incident(s, rt.clock, inst.id, None, "division by zero")
        s.rollback()
    with rt.reads() as s:
        assert s.get(ProcessInstance, inst.id).status == "running"
    assert count(rt, Incident) == 0


def test_loading_the_demo_in_a_rolled_back_transaction_leaves_nothing(rt):
    from rectiflow.services.demo.org import load_demo

    with rt.sessions() as s:
        assert load_demo(s, rt) is True
        s.rollback()
    assert count(rt, User) == 0 and count(rt, Notice) == 0 and count(rt, ProcessInstance) == 0


# --------------------------------------------------------------------- the runner's hooks


def _refuse(ctx: Any, params: dict[str, Any]) -> Any:
    error = RuntimeError("the receiver said no")
    error.retryable = False  # type: ignore[attr-defined]
    raise error


def _runtime_with(settings: Any, clock: Any, registry: OperationRegistry) -> Runtime:
    registry.register(Operation("test.refused", _refuse, "job", max_attempts=3))
    return build_runtime(settings, registry, clock=clock)


def _run_one(rt: Runtime) -> jobs.JobOutcome:
    with rt.sessions.begin() as s:
        jobs.enqueue(s, rt.clock, "test.refused", {}, max_attempts=3)
    [job_id] = jobs.claim(rt, "w1")
    return jobs.run(rt, job_id, "w1")


def test_a_failure_hook_given_with_the_registry_is_called_in_the_failures_transaction(settings, clock):
    calls: list[tuple[str, str, bool]] = []

    def hook(session: Any, job: Job, error: str, final: bool) -> None:
        calls.append((job.kind, error, final))
        job.result = {"seen_by_hook": True}  # written in the same transaction as the failure

    registry = OperationRegistry()
    hooked = _runtime_with(settings, clock, registry)
    registry.on_failure("test.refused", hook)
    try:
        assert _run_one(hooked).status == "failed"
        assert calls == [("test.refused", "RuntimeError: the receiver said no", True)]
        with hooked.reads() as s:
            job = s.scalar(select(Job))
            assert (job.status, job.result) == ("failed", {"seen_by_hook": True})
            assert "the receiver said no" in s.scalar(select(Incident.message))
    finally:
        hooked.dispose()


def test_a_runner_built_without_failure_hooks_records_the_failure(settings, clock):
    plain = _runtime_with(settings, clock, OperationRegistry())
    try:
        assert plain.operations.failure_hook("test.refused") is None
        assert _run_one(plain).status == "failed"
        with plain.reads() as s:
            assert s.scalar(select(Job.status)) == "failed" and s.scalar(select(func.count(Incident.id))) == 1
    finally:
        plain.dispose()


def test_the_composed_registry_gives_the_delivery_hook_and_refuses_a_hook_for_no_operation():
    from workers.registry import build_registry

    registry = build_registry()
    assert registry.failure_hook("notify.deliver") is notifications.delivery_failed
    assert registry.failure_hook("notify.digest") is None
    with pytest.raises(UnknownOperation):
        registry.on_failure("notify.nothing", notifications.delivery_failed)
