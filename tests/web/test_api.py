"""The JSON API: tokens, inbox, task detail, complete with 422/409/403/404, OpenAPI, bad JSON."""

from __future__ import annotations

import pytest

from tests.web.conftest import ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")


def token(client, username, password="passw0rd!"):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def test_token_required_and_wrong_password(client, org):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    resp = client.post("/api/v1/auth/token", json={"username": "a_rect", "password": "bad"})
    assert resp.status_code == 401 and resp.get_json()["message"]
    resp = client.post("/api/v1/auth/token", json={"username": "a_rect"})
    assert resp.status_code == 422 and "password" in str(resp.get_json()["errors"])


def test_me_and_tasks(client, org, rt):
    iid = start(rt, org)
    start(rt, org, unit="plant_b")
    h = token(client, "a_rect")
    me = client.get("/api/v1/me", headers=h).get_json()
    assert me["username"] == "a_rect" and me["grants"][0]["role"] == "rectification_office"
    tasks = client.get("/api/v1/tasks", headers=h).get_json()
    [t] = tasks
    assert t["instance_id"] == iid and t["days_left"] == 89 and t["due_colour"] == "none"
    detail = client.get(f"/api/v1/tasks/{t['id']}", headers=h).get_json()
    assert detail["form_schema"]["required"] == ["note"] and detail["can_act"] is True
    assert detail["instance_version"] == 2
    assert client.get("/api/v1/tasks?due=bogus", headers=h).status_code == 422
    hb = token(client, "b_rect")
    assert client.get(f"/api/v1/tasks/{t['id']}", headers=hb).status_code == 404
    inst = client.get(f"/api/v1/instances/{iid}", headers=h).get_json()
    assert inst["status"] == "running" and inst["ready_tasks"][0]["id"] == t["id"]
    assert client.get(f"/api/v1/instances/{iid}", headers=hb).status_code == 404


def test_complete_errors_and_success(client, org, rt):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    h = token(client, "a_rect")
    url = f"/api/v1/tasks/{task.id}/complete"
    resp = client.post(url, json={"data": {}}, headers=h)
    assert resp.status_code == 422 and "note" in resp.get_json()["errors"]
    resp = client.post(url, json={"data": {"note": "x"}, "expected_version": 1}, headers=h)
    assert resp.status_code == 409
    resp = client.post(url, json={"data": {"note": "x"}}, headers=token(client, "office"))
    assert resp.status_code == 403
    resp = client.post(url, json={"data": {"note": "x"}}, headers=token(client, "b_rect"))
    assert resp.status_code == 404
    resp = client.post(url, json={"data": {"note": "x"}, "expected_version": 2}, headers=h)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["next_tasks"][0]["role"] == "inspection_office" and body["instance_status"] == "running"
    assert client.post(url, json={"data": {"note": "x"}}, headers=h).status_code == 409
    assert client.post("/api/v1/tasks/nope/complete", json={"data": {}}, headers=h).status_code == 404


def test_claim_release(client, org, rt):
    iid = start(rt, org, key="deadline_escalation", unit="plant_a_finance")
    [task] = ready_tasks(rt, iid)
    h1, h2 = token(client, "a_fin"), token(client, "a_fin2")
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=h1).get_json() == {"ok": True}
    assert client.get("/api/v1/tasks", headers=h2).get_json() == []
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=h2).status_code == 409
    assert client.post(f"/api/v1/tasks/{task.id}/release", headers=h2).status_code == 403
    assert client.post(f"/api/v1/tasks/{task.id}/release", headers=h1).status_code == 200
    assert len(client.get("/api/v1/tasks", headers=h2).get_json()) == 1


def test_malformed_json_is_400(client, org):
    resp = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert resp.status_code == 400 and resp.is_json
    h = token(client, "a_rect")
    resp = client.post("/api/v1/tasks/x/complete", data="[1,", content_type="application/json", headers=h)
    assert resp.status_code == 400 and resp.is_json
    resp = client.post("/api/v1/tasks/x/complete", json=[1, 2], headers=h)
    assert resp.status_code in (400, 422) and resp.is_json
    resp = client.post("/api/v1/tasks/x/complete", json={"data": "notadict"}, headers=h)
    assert resp.status_code == 422


def test_openapi_and_docs(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    doc = spec.get_json()
    assert doc["openapi"] == "3.0.3" and "/api/v1/tasks/{task_id}/complete" in doc["paths"]
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui-dist/" in docs and "cdn" not in docs.lower()


def test_clock_api(client, org, rt):
    assert client.get("/api/v1/clock", headers=token(client, "a_rect")).get_json()["virtual"] is True
    assert (
        client.post(
            "/api/v1/clock/advance", json={"duration": "1d"}, headers=token(client, "a_rect")
        ).status_code
        == 403
    )
    before = rt.clock.now()
    resp = client.post("/api/v1/clock/advance", json={"duration": "2d"}, headers=token(client, "admin"))
    assert resp.status_code == 200 and (rt.clock.now() - before).days == 2


def test_problems_empty(client, org):
    h = token(client, "office")
    assert client.get("/api/v1/problems", headers=h).get_json() == []
    assert client.get("/api/v1/problems/1", headers=h).status_code == 404
