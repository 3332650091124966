"""The runtime through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from testsupport import FIXTURES, complete, ready, start

from rectiflow.db.audit import AuditEvent
from rectiflow.db.jobs import Incident, Job
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, Timer, UserTask
from rectiflow.errors import Conflict, DefinitionError, Forbidden, InvalidFormData, NotFound
from rectiflow.services import audit, jobs
from rectiflow.services.workflow import instances, tasks, timers
from rectiflow.services.workflow.definitions import Sources, deploy

pytestmark = pytest.mark.usefixtures("deployed")


def test_start_projects_the_first_task_into_the_right_inbox(rt, org):
    iid = start(rt, org)
    [task] = ready(rt, iid)
    assert (task.element_id, task.role, task.title) == ("draft", "rectification_office", "起草：资金管理")
    assert task.unit_path.endswith(f"/{org['units']['plant_a']}/")
    assert task.due_at.isoformat() == "2025-04-30T16:00:00+00:00"
    assert task.form_key == "simple_note" and task.form_hash


def test_a_loop_runs_to_the_end_with_inline_service(rt, org):
    iid = start(rt, org)
    a = org["actors"]
    for round_no in range(3):
        [t] = ready(rt, iid)
        complete(rt, a["a_rect"], t.id, {"note": f"第{round_no}稿"})
        [t] = ready(rt, iid)
        assert t.element_id == "review"
        complete(rt, a["office"], t.id, {"decision": "return" if round_no < 2 else "approve",
                                         "reason": "补充材料"})
    with rt.reads() as s:
        inst = s.get(ProcessInstance, iid)
        assert inst.status == "completed"
        events = audit.timeline(s, instance_ids=[iid])
        assert [e.action for e in events].count("task.completed") == 6
    assert ready(rt, iid) == []
    assert audit_ok(rt)


def audit_ok(rt):
    with rt.reads() as s:
        report = audit.verify(s)
    assert report.problems == []
    return report.ok


def test_out_of_scope_and_wrong_role_are_refused_without_change(rt, org):
    iid = start(rt, org)
    [t] = ready(rt, iid)
    a = org["actors"]
    with pytest.raises(NotFound):  # another plant's office cannot even see it
        complete(rt, a["b_rect"], t.id, {"note": "x"})
    with pytest.raises(Forbidden):  # the inspection office sees it but does not hold the lane's role
        complete(rt, a["office"], t.id, {"note": "x"})
    [again] = ready(rt, iid)
    assert again.id == t.id and again.status == "ready"


def test_invalid_form_data_keeps_the_task_ready(rt, org):
    iid = start(rt, org)
    [t] = ready(rt, iid)
    complete(rt, org["actors"]["a_rect"], t.id, {"note": "ok"})
    [t] = ready(rt, iid)
    with pytest.raises(InvalidFormData) as err:
        complete(rt, org["actors"]["office"], t.id, {"decision": "return"})
    assert "reason" in err.value.errors
    with rt.reads() as s:
        version_before = s.get(ProcessInstance, iid).version
    [same] = ready(rt, iid)
    assert same.id == t.id
    with rt.reads() as s:
        assert s.get(ProcessInstance, iid).version == version_before


def test_completing_twice_or_with_a_stale_version_is_a_conflict(rt, org):
    iid = start(rt, org)
    [t] = ready(rt, iid)
    with rt.reads() as s:
        v = s.get(ProcessInstance, iid).version
    complete(rt, org["actors"]["a_rect"], t.id, {"note": "ok"})
    with pytest.raises(Conflict):
        complete(rt, org["actors"]["a_rect"], t.id, {"note": "again"})
    [t2] = ready(rt, iid)
    with pytest.raises(Conflict):
        complete(rt, org["actors"]["office"], t2.id, {"decision": "approve"}, expected_version=v)


def test_claim_release_delegate_reassign(rt, org):
    iid = start(rt, org, key="deadline_escalation", unit="plant_a_finance")
    [t] = ready(rt, iid)
    a = org["actors"]
    with rt.sessions.begin() as s:
        tasks.claim(s, rt, t.id, a["a_fin"])
    with pytest.raises(Forbidden):  # claimed by a colleague
        complete(rt, a["a_fin2"], t.id, {"note": "x"})
    with rt.sessions.begin() as s:
        tasks.release(s, rt, t.id, a["a_fin"])
    with rt.sessions.begin() as s:
        tasks.reassign(s, rt, t.id, a["a_rect"], a["a_fin2"].user_id, note="轮岗交接")
    with pytest.raises(Conflict), rt.sessions.begin() as s:  # HR does not hold the role in finance
        tasks.reassign(s, rt, t.id, a["a_rect"], a["a_hr"].user_id)
    complete(rt, a["a_fin2"], t.id, {"note": "办结"})
    with rt.reads() as s:
        actions = [e.action for e in audit.timeline(s, instance_ids=[iid])]
    assert actions[:5] == ["instance.started", "task.claimed", "task.released", "task.reassigned", "task.completed"]


def test_timer_fires_once_at_the_deadline_and_queues_a_job(rt, org):
    iid = start(rt, org, key="deadline_escalation", unit="plant_a_finance")
    with rt.reads() as s:
        [timer] = s.scalars(select(Timer).where(Timer.instance_id == iid)).all()
    assert timer.due_at.isoformat() == "2025-04-30T16:00:00+00:00"
    assert timers.due_instance_ids(rt) == []
    rt.clock.set(timer.due_at)  # strictly later is needed
    assert timers.tick(rt).fired_instances == 0
    rt.clock.advance(timedelta(seconds=1))
    report = timers.tick(rt)
    assert report.fired_instances == 1
    assert timers.tick(rt).claimed == 0
    with rt.reads() as s:
        timer = s.get(Timer, timer.id)
        assert timer.status == "fired" and timer.lateness_s == pytest.approx(1.0, abs=1e-3)
        [job] = s.scalars(select(Job)).all()
        assert ready(rt, iid) == []  # the interrupting timer cancelled the task
        cancelled = s.scalar(select(UserTask).where(UserTask.instance_id == iid))
        assert cancelled.status == "cancelled"
    [jid] = jobs.claim(rt, "w1")
    assert jobs.run(rt, jid, "w1").status == "done"
    with rt.reads() as s:
        assert s.get(ProcessInstance, iid).status == "completed"
        assert s.get(Job, jid).result == {"sent": "资金管理"}


def test_failing_job_retries_with_backoff_then_incident(rt, org):
    def boom(ctx, params):
        raise RuntimeError("SMTP down")

    rt.operations._ops["test.remote"] = rt.operations.get("test.remote").__class__(
        "test.remote", boom, "job", rt.operations.get("test.remote").params, max_attempts=2)
    iid = start(rt, org, key="deadline_escalation", unit="plant_a_finance")
    rt.clock.set(rt.clock.now() + timedelta(days=100))
    timers.tick(rt)
    [jid] = jobs.claim(rt, "w1")
    assert jobs.run(rt, jid, "w1").status == "retry"
    assert jobs.claim(rt, "w1") == []  # backing off
    rt.clock.advance(jobs.backoff(1) + timedelta(seconds=1))
    [jid2] = jobs.claim(rt, "w1")
    assert jid2 == jid and jobs.run(rt, jid, "w1").status == "failed"
    with rt.reads() as s:
        [inc] = s.scalars(select(Incident)).all()
        assert "SMTP down" in inc.message
        assert s.get(ProcessInstance, iid).status == "running"  # still loadable, waiting
    rt.operations._ops["test.remote"] = rt.operations.get("test.remote").__class__(
        "test.remote", lambda ctx, p: {"sent": p["subject"]}, "job", ())
    with rt.sessions.begin() as s:
        jobs.retry_incident(s, rt.clock, inc.id, "admin")
    [jid3] = jobs.claim(rt, "w1")
    assert jobs.run(rt, jid3, "w1").status == "done"
    with rt.reads() as s:
        assert s.get(ProcessInstance, iid).status == "completed"


def test_deploy_is_versioned_by_content_and_all_or_nothing(rt):
    src = Sources.from_dirs(FIXTURES / "bpmn", FIXTURES / "forms")
    with rt.sessions.begin() as s:
        report = deploy(s, rt, src, actor="test")
    assert report.created == [] and len(report.unchanged) == 2
    src.forms["simple_note"] = src.forms["simple_note"].replace(b"2000", b"3000")
    with rt.sessions.begin() as s:
        report = deploy(s, rt, src, actor="test")
    assert sorted(report.created) == [("deadline_escalation", 2), ("review_loop", 2)]
    broken = Sources(bpmn={**src.bpmn, "bad.bpmn": b"<bpmn:definitions"}, forms=src.forms)
    with pytest.raises(DefinitionError) as err, rt.sessions.begin() as s:
        deploy(s, rt, broken, actor="test")
    assert err.value.findings[0]["file"] == "bad.bpmn"
    with rt.reads() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == 4


def test_instance_keeps_its_version_after_redeploy(rt, org):
    iid = start(rt, org)
    src = Sources.from_dirs(FIXTURES / "bpmn", FIXTURES / "forms")
    src.bpmn["review_loop.bpmn"] = src.bpmn["review_loop.bpmn"].replace("起草与审核".encode(), "起草与审核二".encode())
    with rt.sessions.begin() as s:
        deploy(s, rt, src, actor="test")
    rt.bundles.clear()
    rt.workflows.clear()
    [t] = ready(rt, iid)
    complete(rt, org["actors"]["a_rect"], t.id, {"note": "ok"})
    with rt.reads() as s:
        inst = s.get(ProcessInstance, iid)
        assert s.get(ProcessDefinition, inst.definition_id).version == 1
        new = instances.start_instance(s, rt, "review_loop", {"subject": "x", "deadline": "2025-04-30"},
                                       unit_id=org["units"]["plant_a"])
        assert s.get(ProcessDefinition, new.definition_id).version == 2
        s.rollback()


def test_audit_log_is_append_only_and_tamper_evident(rt, org):
    start(rt, org)
    with rt.reads() as s:
        ev = s.scalars(select(AuditEvent)).first()
        ev.payload = {"forged": True}
        with pytest.raises(Exception, match="append-only"):
            s.flush()
        s.rollback()
    assert audit_ok(rt)


def test_workflow_cache_is_used_only_for_the_version_it_was_written_as(rt, org):
    rt.cache_workflows = True
    iid = start(rt, org)
    with rt.reads() as s:
        version = s.get(ProcessInstance, iid).version
    cached = rt.workflows.take(iid, version)
    assert cached is not None  # put back after the commit of the start trigger
    rt.workflows.put(iid, version, cached)
    assert rt.workflows.take(iid, version + 1) is None  # another process wrote since: ignored
    [t] = ready(rt, iid)
    complete(rt, org["actors"]["a_rect"], t.id, {"note": "ok"})  # falls back to the stored state
    [t] = ready(rt, iid)
    assert t.element_id == "review"
    with rt.reads() as s:
        assert rt.workflows.take(iid, s.get(ProcessInstance, iid).version) is not None


def test_deploy_refuses_a_notification_template_with_an_unknown_variable(rt, monkeypatch, tmp_path):
    import shutil

    from rectiflow.services import notifications

    shutil.copytree(notifications.TEMPLATE_DIR, tmp_path / "notifications")
    (tmp_path / "notifications" / "reminder.txt").write_text("提醒：{{ problem_number }}\n{{ no_such_thing }}\n")
    monkeypatch.setattr(notifications, "TEMPLATE_DIR", tmp_path / "notifications")
    with pytest.raises(DefinitionError) as err, rt.sessions.begin() as s:
        deploy(s, rt, Sources.from_dirs(FIXTURES / "bpmn", FIXTURES / "forms"), actor="test")
    assert any(f["file"] == "notifications/reminder.txt" and "no_such_thing" in f["problem"]
               for f in err.value.findings)
