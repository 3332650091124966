"""Deploying an earlier version's content makes it the latest again: a rollback (issue 15, fault 4).

Before the fix the deploy found the old version by its content hash and reported it "unchanged",
so the bad latest version kept starting every new instance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rectiflow.db.audit import AuditEvent
from rectiflow.db.runtime import ProcessDefinition, UserTask
from rectiflow.services.designer import editor as svc
from rectiflow.services.workflow import definitions, instances
from tests.designer.designer_diagrams import form_bytes, source
from tests.web.conftest import csrf_token, login

FORMS = {"dz_form": form_bytes().decode()}
GOOD = source()
BAD = source(name="审核（有误）")


def _deploy(rt: Any, xml: str, note: str) -> definitions.DeployReport:
    with rt.sessions.begin() as s:
        report, _changes = svc.deploy(s, rt, svc.Submission(bpmn={"dz.bpmn": xml.encode()},
                                                            forms={"dz_form": form_bytes()}),
                                      actor="designer", note=note)
        return report


def _versions(rt: Any) -> list[tuple[int, str, dict[str, Any]]]:
    with rt.reads() as s:
        return [(d.version, d.change_note, d.files) for d in s.scalars(
            select(ProcessDefinition).where(ProcessDefinition.key == "dz").order_by(ProcessDefinition.version))]


def _start(rt: Any, org: dict[str, Any]) -> tuple[int, str]:
    with rt.sessions.begin() as s:
        inst = instances.start_instance(s, rt, "dz", {"decision": "ok"}, actor="office", unit_id=org["units"]["group"])
        version = s.get(ProcessDefinition, inst.definition_id).version
        name = s.scalar(select(UserTask.name).where(UserTask.instance_id == inst.id))
        return version, name


def test_redeploying_an_earlier_version_makes_it_the_latest_again(rt: Any, org: dict[str, Any], client: Any) -> None:
    _deploy(rt, GOOD, "first")
    _deploy(rt, BAD, "rename")
    assert _start(rt, org) == (2, "审核（有误）")

    login(client, "admin")
    resp = client.post("/designer/deploy", json={"files": {"dz.bpmn": GOOD}, "forms": FORMS, "note": "回滚到 v1"},
                       headers={"X-CSRFToken": csrf_token(client, "/")})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["created"] == [["dz", 3]] and body["restored"] == [["dz", 3, 1]]

    (v1, note1, files1), (v2, note2, files2), (v3, note3, files3) = _versions(rt)
    assert (note1, note2, note3) == ("first", "rename", "回滚到 v1")
    assert files3 == files1 != files2  # the new record points at v1's stored files; v1 and v2 are untouched
    assert _start(rt, org) == (3, "审核")  # new instances run v1's content again

    with rt.reads() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "definitions.deployed")
                          .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.actor == "admin"
        assert event.payload["restored"] == [["dz", 3, 1]] and event.payload["note"] == "回滚到 v1"

    page = client.get("/designer/").get_data(as_text=True)
    row = page.split('data-version="3"', 1)[1].split("</tr>", 1)[0]
    assert "回滚到 v1" in row and "恢复为 v1 的内容" in row
    assert 'data-version="2"' in page and "恢复为" not in page.split('data-version="2"', 1)[1].split("</tr>", 1)[0]


def test_the_same_content_as_the_latest_changes_nothing(rt: Any) -> None:
    _deploy(rt, GOOD, "first")
    _deploy(rt, BAD, "rename")
    _deploy(rt, GOOD, "rollback")
    report = _deploy(rt, GOOD, "again")
    assert report.created == [] and report.unchanged == [("dz", 3)] and report.restored == []
    report = _deploy(rt, BAD, "forward again")  # v2's content, now older than v3: restored as v4
    assert report.created == [("dz", 4)] and report.restored == [("dz", 4, 2)]
    assert [v for v, _note, _files in _versions(rt)] == [1, 2, 3, 4]


def test_a_plain_deploy_of_older_sources_rolls_back_too(rt: Any) -> None:
    # The command line and the fixture loader deploy through definitions.deploy, as the designer does.
    reports = []
    for i, xml in enumerate((GOOD, BAD, GOOD)):
        with rt.sessions.begin() as s:
            src = definitions.Sources(bpmn={"dz.bpmn": xml.encode()}, forms={"dz_form": form_bytes()})
            reports.append(definitions.deploy(s, rt, src, actor="cli", note=f"n{i}"))
    assert [r.created for r in reports] == [[("dz", 1)], [("dz", 2)], [("dz", 3)]]
    assert reports[2].restored == [("dz", 3, 1)]
    with rt.reads() as s:
        assert definitions.latest_definition(s, "dz").version == 3
