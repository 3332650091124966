"""Issue 15: the 5xx of hostile input, now a 422 that names the problem and changes nothing.

``user_id: 2**70`` on reassign and delegate, a lone surrogate or a 100,000-deep array on the token
endpoint and inside ``data`` on complete, NUL bytes in text (PostgreSQL cannot store them)."""

from __future__ import annotations

import json

import pytest

from rectiflow.db.runtime import UserTask
from tests.web.conftest import login, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")

DEEP = "[" * 100_000 + "]" * 100_000


def _token(client, username="a_rect"):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": "passw0rd!"})
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def _raw(client, path, text, headers=None):
    return client.post(path, data=text.encode("utf-8", "surrogatepass"), content_type="application/json",
                       headers=headers or {})


def _draft(rt, org):
    iid = start(rt, org)
    [draft] = ready_tasks(rt, iid)
    return draft


def _unchanged(rt, task):
    with rt.reads() as s:
        now = s.get(UserTask, task.id)
        return now.status == "ready" and now.assignee_id is None and now.submitted is None


@pytest.mark.parametrize("action", ["reassign", "delegate"])
def test_a_user_id_beyond_any_id_is_a_422_naming_it(rt, org, client, action):
    task = _draft(rt, org)
    resp = client.post(f"/api/v1/tasks/{task.id}/{action}", json={"user_id": 2**70}, headers=_token(client))
    assert resp.status_code == 422, resp.get_json()
    assert "user_id" in resp.get_json()["errors"]["json"]
    assert _unchanged(rt, task)


@pytest.mark.parametrize("action", ["reassign", "delegate"])
def test_the_web_form_with_a_huge_user_id_is_not_a_500(rt, org, client, action):
    task = _draft(rt, org)
    login(client, "a_rect")
    resp = post(client, f"/tasks/{task.id}/{action}", {"user_id": "9" * 30}, token_from=f"/tasks/{task.id}")
    assert resp.status_code == 404
    assert _unchanged(rt, task)


def test_a_lone_surrogate_on_the_token_endpoint_is_a_422(client, org):
    resp = _raw(client, "/api/v1/auth/token", '{"username": "\\ud800", "password": "passw0rd!"}')
    assert resp.status_code == 422, resp.get_data(as_text=True)
    body = resp.get_json()
    assert list(body["errors"]) == ["username"] and "代理字符" in body["errors"]["username"][0]  # zh-CN first


def test_a_100000_deep_array_on_the_token_endpoint_is_a_422(client, org):
    resp = _raw(client, "/api/v1/auth/token", DEEP)
    assert resp.status_code == 422
    assert "嵌套层数超过 64 层" in resp.get_json()["message"]


def test_deep_or_broken_text_inside_data_on_complete_is_a_422(rt, org, client):
    task = _draft(rt, org)
    h = _token(client)
    deep = _raw(client, f"/api/v1/tasks/{task.id}/complete", '{"data": {"note": ' + DEEP + "}}", h)
    assert deep.status_code == 422 and "嵌套层数超过" in deep.get_json()["message"]
    lone = _raw(client, f"/api/v1/tasks/{task.id}/complete", '{"data": {"note": "ok \\udfff"}}', h)
    assert lone.status_code == 422 and list(lone.get_json()["errors"]) == ["data.note"]
    nul = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"note": "第一稿\x00"}}, headers=h)
    assert nul.status_code == 422 and list(nul.get_json()["errors"]) == ["data.note"]
    assert "NUL" in nul.get_json()["errors"]["data.note"][0]
    assert _unchanged(rt, task)
    ok = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"note": "第一稿"}}, headers=h)
    assert ok.status_code == 200, ok.get_json()


def test_a_nul_in_a_web_form_field_is_a_422_naming_the_field(rt, org, client):
    task = _draft(rt, org)
    login(client, "a_rect")
    resp = post(client, f"/tasks/{task.id}", {"_action": "complete", "note": "a\x00b"}, token_from=f"/tasks/{task.id}")
    assert resp.status_code == 422 and "note" in resp.get_data(as_text=True)
    assert _unchanged(rt, task)


def test_an_ordinary_body_passes_the_guard(rt, org, client):
    body = json.dumps({"username": "a_rect", "password": "passw0rd!", "nested": [[[["深"]]]]})
    resp = _raw(client, "/api/v1/auth/token", body)
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["json"]  # the schema's finding, not ours
    assert client.post("/api/v1/auth/token", json={"username": "a_rect", "password": "passw0rd!"}).status_code == 200
