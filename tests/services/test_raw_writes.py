"""The trigger writes with plain DB-API statements (``rectiflow.db.raw``): what it writes must read
back through the ORM exactly as ORM-written rows do, and ORM objects the caller holds in the same
session must stay true to the rows. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from testsupport import complete, ready, start

from rectiflow import engine
from rectiflow.db.audit import AuditEvent
from rectiflow.db.raw import raw_connection
from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.errors import Conflict
from rectiflow.services import audit
from rectiflow.services.workflow import tasks
from rectiflow.services.workflow.triggers import run_trigger

pytestmark = pytest.mark.usefixtures("deployed")


def test_rows_written_by_a_step_read_back_through_the_orm(rt, org):
    iid = start(rt, org)
    [draft] = ready(rt, iid)
    done = complete(rt, org["actors"]["a_rect"], draft.id, {"note": "初稿：资金管理"})
    with rt.reads() as s:
        old = s.get(UserTask, draft.id)
        assert (old.status, old.completed_by, old.submitted, old.draft) == (
            "completed", org["actors"]["a_rect"].user_id, {"note": "初稿：资金管理"}, None)
        assert old.completed_at == rt.clock.now() and old.completed_at.tzinfo is not None
        assert old.due_at == datetime(2025, 4, 30, 16, tzinfo=UTC)  # written by the step that started it
        [new] = s.scalars(select(UserTask).where(UserTask.instance_id == iid, UserTask.status == "ready"))
        assert [(t.id, t.name, t.role) for t in done.next_tasks] == [(new.id, new.name, new.role)]
        assert new.created_at == rt.clock.now() and new.due_at is None
        assert new.unit_path.endswith(f"/{org['units']['plant_a']}/") and isinstance(new.context, dict)
        inst = s.get(ProcessInstance, iid)
        assert (inst.version, inst.state_version, inst.audit_seq) == (3, 3, 2)
        assert inst.updated_at == rt.clock.now()
        event = s.scalars(select(AuditEvent).where(AuditEvent.stream == f"instance:{iid}")
                          .order_by(AuditEvent.seq.desc())).first()
        assert (event.action, event.payload["data"], event.hash) == (
            "task.completed", {"note": "初稿：资金管理"}, inst.audit_head)
        assert audit.verify(s).ok
        # Text comparisons of timestamps (SQLite) need SQLAlchemy's exact storage format.
        later = s.scalars(select(UserTask.id).where(UserTask.instance_id == iid,
                                                    UserTask.due_at > datetime(2025, 4, 30, 15, 59, tzinfo=UTC))).all()
        assert later == [draft.id]


def test_orm_objects_in_the_session_follow_the_rows_written_beside_them(rt, org):
    iid = start(rt, org)
    [draft] = ready(rt, iid)
    with rt.sessions.begin() as s:
        inst = s.get(ProcessInstance, iid)  # loaded before the step, as a page or an operation would
        task = s.get(UserTask, draft.id)
        assert task.status == "ready"
        tasks.complete_task(s, rt, draft.id, org["actors"]["a_rect"], {"note": "初稿"})
        assert task.status == "completed"  # expired and reloaded
        assert (inst.version, inst.state_version) == (3, 3)
        inst.title = "资金管理（改）"  # a later ORM write in the same transaction passes the version check
        s.flush()
    with rt.reads() as s:
        assert (s.get(ProcessInstance, iid).title, s.get(ProcessInstance, iid).version) == ("资金管理（改）", 4)


def test_orm_changes_queued_before_the_step_are_written_first(rt, org):
    iid = start(rt, org)
    [draft] = ready(rt, iid)
    with rt.sessions.begin() as s:
        s.get(ProcessInstance, iid).title = "资金管理（先改）"  # not flushed yet
        tasks.complete_task(s, rt, draft.id, org["actors"]["a_rect"], {"note": "初稿"})
    with rt.reads() as s:
        inst = s.get(ProcessInstance, iid)
        assert (inst.title, inst.version, inst.state_version) == ("资金管理（先改）", 4, 3)


def test_a_step_that_lost_the_race_writes_nothing(rt, org):
    iid = start(rt, org)
    [draft] = ready(rt, iid)
    with rt.sessions.begin() as s:  # another writer moves the instance on after our read
        s.execute(text("UPDATE process_instances SET version = version + 1 WHERE id = :i"), {"i": iid})
    rt.workflows.clear()
    with pytest.raises(Conflict), rt.sessions.begin() as s:
        _task, inst = tasks._task_and_instance(raw_connection(s), draft.id, org["actors"]["a_rect"])
        inst.version -= 1  # what we had read before the other writer committed
        run_trigger(s, rt, inst, "a_rect", "task.completed",
                    lambda wf: engine.complete_user_task(wf, draft.id, {"note": "x"}, rt.clock))
    with rt.reads() as s:
        assert s.get(UserTask, draft.id).status == "ready"
        assert s.scalar(select(AuditEvent.seq).where(AuditEvent.stream == f"instance:{iid}")
                        .order_by(AuditEvent.seq.desc())) == 1
