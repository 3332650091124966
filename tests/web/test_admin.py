"""Administration pages: admin role only; suspend/resume/terminate, incidents, the virtual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from rectiflow.db.jobs import Incident
from rectiflow.db.runtime import ProcessInstance
from tests.web.conftest import login, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")
PAGES = ["/admin/", "/admin/definitions", "/admin/instances", "/admin/incidents", "/admin/clock"]


@pytest.mark.parametrize("user", ["a_rect", "office", "leader"])
def test_admin_pages_are_403_for_others(client, org, user):
    login(client, user)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert post(client, "/admin/clock", {"duration": "1d"}).status_code == 403
    assert "/admin/definitions" not in client.get("/").get_data(as_text=True)


def test_admin_pages_render(client, org, rt):
    start(rt, org)
    login(client, "admin")
    for path in PAGES:
        assert client.get(path, follow_redirects=True).status_code == 200, path
    page = client.get("/admin/definitions").get_data(as_text=True)
    assert "review_loop" in page and "deadline_escalation" in page and "v1" in page


def status(rt, iid):
    with rt.reads() as s:
        return s.get(ProcessInstance, iid).status


def test_suspend_resume_terminate(client, org, rt):
    iid = start(rt, org)
    login(client, "admin")
    assert post(client, f"/admin/instances/{iid}/status", {"status": "suspended"}).status_code == 302
    assert status(rt, iid) == "suspended"
    assert post(client, f"/admin/instances/{iid}/status", {"status": "suspended"}).status_code == 409
    assert post(client, f"/admin/instances/{iid}/status", {"status": "bogus"}).status_code == 422
    assert post(client, f"/admin/instances/{iid}/status", {"status": "running"}).status_code == 302
    assert post(client, f"/admin/instances/{iid}/status", {"status": "terminated"}).status_code == 302
    assert status(rt, iid) == "terminated" and ready_tasks(rt, iid) == []
    assert post(client, "/admin/instances/999999/status", {"status": "running"}).status_code == 404


def test_incident_retry(client, org, rt):
    iid = start(rt, org)
    with rt.sessions.begin() as s:
        s.add(
            Incident(kind="engine", instance_id=iid, message="boom", status="open", created_at=rt.clock.now())
        )
    login(client, "admin")
    assert "boom" in client.get("/admin/incidents").get_data(as_text=True)
    with rt.reads() as s:
        inc_id = s.scalar(select(Incident.id))
    assert post(client, f"/admin/incidents/{inc_id}/retry").status_code == 302
    assert post(client, f"/admin/incidents/{inc_id}/retry").status_code == 409
    with rt.reads() as s:
        assert s.get(Incident, inc_id).status == "resolved"


def test_virtual_clock_advance(client, org, rt):
    login(client, "admin")
    before = rt.clock.now()
    assert post(client, "/admin/clock", {"duration": "3d"}).status_code == 302
    assert rt.clock.now() - before == timedelta(days=3)
    assert post(client, "/admin/clock", {"duration": "soon"}).status_code == 422
