"""Errors raised in the core are rendered at the edge in the reader's language (page, API, mail), and
nothing internal (SQL, exception text, class names) reaches a client."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import exc as sa_exc

from rectiflow.db.org import User
from rectiflow.errors import Conflict
from rectiflow.i18n import translate
from rectiflow.services.workflow import tasks as task_service
from tests.web.conftest import login, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")

ALREADY_ZH = "该任务已不可办理：当前状态为“已完成”。"
ALREADY_EN = "This task is no longer open: its status is “Completed”."


def _completed_task(rt: Any, org: dict[str, Any]) -> str:
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    with rt.sessions.begin() as s:
        task_service.complete_task(s, rt, task.id, org["actors"]["a_rect"], {"note": "已整改"})
    return task.id


def _set_locale(rt: Any, username: str, locale: str) -> None:
    with rt.sessions.begin() as s:
        s.query(User).filter(User.username == username).update({"locale": locale})


def _token(client: Any, username: str) -> dict[str, str]:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": "passw0rd!"})
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def test_completing_a_completed_task_is_a_409_in_the_readers_language_on_a_page(client, org, rt):
    task_id = _completed_task(rt, org)
    login(client, "a_rect")
    resp = post(client, f"/tasks/{task_id}", {"note": "再次提交"})
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert ALREADY_ZH in page and "already" not in page
    post(client, "/language", {"locale": "en", "next": "/"})
    resp = post(client, f"/tasks/{task_id}", {"note": "again"})
    assert resp.status_code == 409 and ALREADY_EN in resp.get_data(as_text=True)


def test_a_missing_task_is_a_404_in_the_readers_language_on_a_page(client, org):
    login(client, "a_rect")
    resp = client.get("/tasks/no-such-task")
    assert resp.status_code == 404 and "任务不存在。" in resp.get_data(as_text=True)
    post(client, "/language", {"locale": "en", "next": "/"})
    resp = client.get("/tasks/no-such-task")
    assert resp.status_code == 404 and "Task not found." in resp.get_data(as_text=True)


def test_the_api_renders_errors_in_the_token_holders_language(client, org, rt):
    task_id = _completed_task(rt, org)
    url = f"/api/v1/tasks/{task_id}/complete"
    resp = client.post(url, json={"data": {"note": "x"}}, headers=_token(client, "a_rect"))
    assert resp.status_code == 409
    assert resp.get_json()["message"] == ALREADY_ZH and resp.get_json()["error"] == "conflict"
    resp = client.post("/api/v1/tasks/nope/complete", json={"data": {}}, headers=_token(client, "a_rect"))
    assert resp.status_code == 404 and resp.get_json()["message"] == "任务不存在。"
    _set_locale(rt, "a_rect", "en")
    resp = client.post(url, json={"data": {"note": "x"}}, headers=_token(client, "a_rect"))
    assert resp.status_code == 409 and resp.get_json()["message"] == ALREADY_EN
    resp = client.post("/api/v1/tasks/nope/complete", json={"data": {}}, headers=_token(client, "a_rect"))
    assert resp.status_code == 404 and resp.get_json()["message"] == "Task not found."


def test_api_field_errors_are_rendered_in_the_token_holders_language(client, org, rt):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    url = f"/api/v1/tasks/{task.id}/complete"
    resp = client.post(url, json={"data": {"unit_id": 9}}, headers=_token(client, "a_rect"))
    body = resp.get_json()
    assert resp.status_code == 422 and body["message"] == "表单有错误。"
    assert body["errors"]["unit_id"] == ["表单中没有字段“unit_id”"]
    _set_locale(rt, "a_rect", "en")
    body = client.post(url, json={"data": {"unit_id": 9}}, headers=_token(client, "a_rect")).get_json()
    assert body["message"] == "The form has errors."
    assert body["errors"]["unit_id"] == ["The form has no field 'unit_id'"]


def test_a_mail_renders_a_core_error_in_the_recipients_language(org, rt):
    """Mails, exports and the CLI render through the same catalogue (``exc.render`` / ``translate``)."""
    task_id = _completed_task(rt, org)
    with rt.sessions.begin() as s, pytest.raises(Conflict) as caught:
        task_service.complete_task(s, rt, task_id, org["actors"]["a_rect"], {"note": "x"})
    exc = caught.value
    body_zh = translate("zh_CN", "%(file)s: %(reason)s", file="整改通知", reason=exc.render("zh_CN"))
    body_en = translate("en", "%(file)s: %(reason)s", file="notice", reason=exc.render("en"))
    assert body_zh == f"整改通知：{ALREADY_ZH}" and body_en == f"notice: {ALREADY_EN}"


# ---------------------------------------------------------------------------- nothing internal leaks

SQL = 'INSERT INTO users (username) VALUES (%(username)s)'
SECRET = "value too long for type character varying(64) -- secret internal text"
LEAKS = ("INSERT", "SQL", "DataError", "IntegrityError", "RuntimeError", "Traceback", "secret internal text",
         "character varying", "psycopg", "sqlite3", "sqlalchemy")


def _boom_app(app: Flask) -> Flask:
    """Routes (added before the first request) that fail the ways a real view can fail."""
    def data_error() -> Any:
        raise sa_exc.DataError(SQL, {"username": "x" * 100}, Exception(SECRET))

    def integrity_error() -> Any:
        raise sa_exc.IntegrityError(SQL, {"username": "dup"}, Exception(SECRET))

    def unexpected() -> Any:
        raise RuntimeError(SECRET)

    for prefix in ("/_boom", "/api/v1/_boom"):
        app.add_url_rule(f"{prefix}/data", f"{prefix}-data", data_error)
        app.add_url_rule(f"{prefix}/integrity", f"{prefix}-integrity", integrity_error)
        app.add_url_rule(f"{prefix}/unexpected", f"{prefix}-unexpected", unexpected)
    return app


@pytest.mark.parametrize(("path", "status", "zh"), [
    ("data", 400, "请求无法处理：有数值超出范围或格式无效。未保存任何内容。"),
    ("integrity", 409, "请求与已有数据冲突，未保存任何内容。"),
    ("unexpected", 500, "服务器出错，未保存任何内容。"),
])
def test_database_and_unexpected_errors_show_no_internals(app, org, path, status, zh):
    client = _boom_app(app).test_client()
    login(client, "a_rect")
    page = client.get(f"/_boom/{path}")
    text = page.get_data(as_text=True)
    assert page.status_code == status and zh in text
    assert not [leak for leak in LEAKS if leak in text], text
    api = client.get(f"/api/v1/_boom/{path}")
    body = api.get_json()
    assert api.status_code == status and body["message"].startswith(zh)
    assert not [leak for leak in LEAKS if leak in api.get_data(as_text=True)]
    assert len(body["reference"]) == 12  # what the user quotes to the administrator; the log has the details


def test_an_unexpected_error_message_names_its_reference(app, org, caplog):
    client = _boom_app(app).test_client()
    login(client, "a_rect")
    body = client.get("/api/v1/_boom/unexpected").get_json()
    assert body["reference"] in body["message"]
    assert any(body["reference"] in r.getMessage() and r.exc_info for r in caplog.records)  # details: log only
