"""Deploy through the designer (v2 with note and the difference), the processes page, downloads,
permissions, and migration: dry run, refusal on a removed waiting element, success audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from designer_diagrams import form_bytes, source
from designer_support import login, post_form, post_json
from sqlalchemy import select

from rectiflow.db.audit import AuditEvent
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, UserTask
from rectiflow.errors import Conflict
from rectiflow.services.accounts.actors import load_actor
from rectiflow.services.accounts.users import user_by_name
from rectiflow.services.designer import editor as svc
from rectiflow.services.designer import migration as mig
from rectiflow.services.workflow import instances, tasks

FORMS = {"dz_form": form_bytes().decode()}


def deploy_v1(rt: Any) -> None:
    with rt.sessions.begin() as s:
        svc.deploy(
            s,
            rt,
            svc.Submission(bpmn={"dz.bpmn": source().encode()}, forms={"dz_form": form_bytes()}),
            actor="designer",
            note="first",
        )


def start(rt: Any) -> int:
    from rectiflow.db.org import Unit

    with rt.sessions.begin() as s:
        unit = s.scalar(select(Unit).where(Unit.code == "group"))
        return instances.start_instance(s, rt, "dz", {"decision": "ok"}, actor="clerk", unit_id=unit.id).id


def definition(rt: Any, version: int) -> ProcessDefinition:
    with rt.reads() as s:
        return svc.definition(s, "dz", version)


def test_deploy_creates_v2_with_note_and_diff(client: Any, rt: Any) -> None:
    deploy_v1(rt)
    login(client, "designer")
    v2 = source(name="审核（新）", second_task=True)
    diff = post_json(client, "/designer/diff", {"files": {"dz.bpmn": v2}, "forms": FORMS}).get_json()
    assert diff["ok"], diff
    (d,) = diff["diff"]
    assert d["processes"] == {"dz": 1}
    assert [a["id"] for a in d["added"]] == ["review2", "f2b"]
    changed = {c["id"]: c["changes"] for c in d["changed"]}
    assert {"what": "name", "old": "审核", "new": "审核（新）"} in changed["review"]
    assert {"what": "targetRef", "old": "wait", "new": "review2"} in changed["f2"]
    assert "wait" not in changed  # layout moved, the element did not change
    assert d["removed"] == []

    refused = post_json(client, "/designer/deploy", {"files": {"dz.bpmn": v2}, "forms": FORMS, "note": " "})
    assert refused.status_code == 422
    resp = post_json(client, "/designer/deploy", {"files": {"dz.bpmn": v2}, "forms": FORMS, "note": "加复核"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["created"] == [["dz", 2]]
    d2 = definition(rt, 2)
    assert (d2.change_note, d2.deployed_by) == ("加复核", "designer")
    assert definition(rt, 1).change_note == "first"  # immutable

    page = client.get("/designer/").get_data(as_text=True)
    assert "加复核" in page and "v2" in page and "first" in page
    src = client.get(f"/designer/versions/{definition(rt, 1).id}/source")
    assert src.status_code == 200 and b'name="\xe5\xae\xa1\xe6\xa0\xb8"' in src.data  # 审核, v1 untouched
    assert "dz-v1.bpmn" in src.headers["Content-Disposition"]
    editor = client.get("/designer/process/dz")
    assert editor.status_code == 200 and "review2" in editor.get_data(as_text=True)


def test_a_failed_deploy_writes_nothing(client: Any, rt: Any) -> None:
    deploy_v1(rt)
    login(client, "designer")
    resp = post_json(
        client, "/designer/deploy", {"files": {"dz.bpmn": source(op="nope.op")}, "forms": FORMS, "note": "broken"}
    )
    assert resp.status_code == 422 and resp.get_json()["findings"][0]["element"] == "svc"
    with rt.sessions() as s:
        assert [d.version for d in s.scalars(select(ProcessDefinition))] == [1]


def test_instances_keep_their_version(rt: Any, people: Any) -> None:
    deploy_v1(rt)
    old = start(rt)
    with rt.sessions.begin() as s:
        svc.deploy(s, rt, svc.Submission(bpmn={"dz.bpmn": source(second_task=True).encode()}), actor="d", note="v2")
    new = start(rt)
    with rt.reads() as s:
        assert s.get(ProcessInstance, old).definition_id == definition(rt, 1).id
        assert s.get(ProcessInstance, new).definition_id == definition(rt, 2).id
        counts = {v.version: v.running for p in svc.processes(s) for v in p.versions}
        assert counts == {1: 1, 2: 1}


def complete_ready(rt: Any, instance_id: int) -> str:
    with rt.sessions.begin() as s:
        task = s.scalar(select(UserTask).where(UserTask.instance_id == instance_id, UserTask.status == "ready"))
        who = load_actor(s, user_by_name(s, "clerk").id)
        tasks.complete_task(s, rt, task.id, who, {"decision": "ok"})
        return task.element_id


def test_migration_dry_run_then_migrate_audited(client: Any, rt: Any) -> None:
    deploy_v1(rt)
    iid = start(rt)
    with rt.sessions.begin() as s:
        svc.deploy(
            s,
            rt,
            svc.Submission(bpmn={"dz.bpmn": source(name="审核2", second_task=True).encode()}),
            actor="d",
            note="v2",
        )
    v2 = definition(rt, 2)
    with rt.reads() as s:
        version_before = s.get(ProcessInstance, iid).version
    login(client, "designer")
    assert f"#{iid}" in client.get("/designer/process/dz/migrate").get_data(as_text=True)
    dry = post_form(client, "/designer/process/dz/migrate/dry-run", {"instance": iid, "target": v2.id})
    page = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "review2" in page and "migrate-confirm" in page
    with rt.reads() as s:  # the dry run wrote nothing
        inst = s.get(ProcessInstance, iid)
        assert (inst.definition_id, inst.version) == (definition(rt, 1).id, version_before)

    done = post_form(
        client, "/designer/process/dz/migrate", {"instance": iid, "target": v2.id, f"version_{iid}": version_before}
    )
    assert done.status_code == 200 and "chip-green" in done.get_data(as_text=True)
    with rt.reads() as s:
        inst = s.get(ProcessInstance, iid)
        assert inst.definition_id == v2.id
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.stream == f"instance:{iid}", AuditEvent.action == "instance.migrated")
        ).one()
        assert ev.actor == "designer" and ev.payload["to_version"] == 2 and ev.payload["from_version"] == 1
        row = s.scalar(select(UserTask).where(UserTask.instance_id == iid, UserTask.status == "ready"))
        assert (row.element_id, row.name) == ("review", "审核2")
    assert complete_ready(rt, iid) == "review"
    with rt.reads() as s:  # it now runs version 2: the new review step comes next
        row = s.scalar(select(UserTask).where(UserTask.instance_id == iid, UserTask.status == "ready"))
        assert row.element_id == "review2"


def test_migration_refused_when_the_waiting_element_was_removed(rt: Any, people: Any) -> None:
    deploy_v1(rt)
    iid = start(rt)
    without_review = source()
    without_review = re.sub(r'<bpmn:userTask id="review".*?</bpmn:userTask>', "", without_review, flags=re.S)
    without_review = without_review.replace('<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="wait"/>', "")
    without_review = without_review.replace(
        'sourceRef="start" targetRef="review"', 'sourceRef="start" targetRef="wait"'
    )
    without_review = without_review.replace("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "")
    from rectiflow.bpmn_layout import layout

    without_review = layout(without_review.encode()).decode()
    with rt.sessions.begin() as s:
        svc.deploy(s, rt, svc.Submission(bpmn={"dz.bpmn": without_review.encode()}), actor="d", note="no review")
    v2 = definition(rt, 2)
    with rt.sessions() as s:
        dry = mig.dry_run(s, rt, iid, v2.id)
        assert not dry.plan.allowed
        assert "review" in dry.plan.removed
        assert any("waits on 'review'" in r for r in dry.plan.reasons)
    with rt.sessions() as s, pytest.raises(Conflict, match="waits on 'review'"):
        mig.migrate(s, rt, iid, v2.id, actor="designer")
    with rt.reads() as s:
        assert s.get(ProcessInstance, iid).definition_id == definition(rt, 1).id


def test_migration_conflicts_when_the_instance_moved_on(rt: Any, people: Any) -> None:
    deploy_v1(rt)
    iid = start(rt)
    with rt.sessions.begin() as s:
        svc.deploy(s, rt, svc.Submission(bpmn={"dz.bpmn": source(second_task=True).encode()}), actor="d", note="v2")
        stale = s.get(ProcessInstance, iid).version - 1
    with rt.sessions() as s, pytest.raises(Conflict, match="changed since the dry run"):
        mig.migrate(s, rt, iid, definition(rt, 2).id, actor="designer", expected_version=stale)


@pytest.mark.parametrize(
    "path", ["/designer/", "/designer/process/dz", "/designer/process/dz/migrate", "/designer/dmn/"]
)
def test_non_designers_get_403(client: Any, rt: Any, path: str) -> None:
    deploy_v1(rt)
    login(client, "clerk")
    assert client.get(path).status_code == 403
    assert post_json(client, "/designer/validate", {"files": {}}).status_code == 403
    assert post_json(client, "/designer/deploy", {"files": {"dz.bpmn": source()}, "note": "x"}).status_code == 403


@pytest.mark.parametrize("user", ["designer", "boss"])
def test_designers_and_admins_get_in(client: Any, rt: Any, user: str) -> None:
    deploy_v1(rt)
    login(client, user)
    page = client.get("/designer/")
    assert page.status_code == 200 and "dz" in page.get_data(as_text=True)
    assert client.get("/designer/process/dz").status_code == 200
