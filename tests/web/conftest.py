"""Web fixtures: an app on the test runtime with CSRF on, a client, and helpers to log in and post
forms with the page's CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from rectiflow.services.workflow import instances
from webapp import create_app

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(rt: Any) -> Flask:
    app = create_app(rt, testing=True)
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    m = TOKEN_RE.search(page.get_data(as_text=True))
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def post(
    client: FlaskClient, path: str, data: dict[str, Any] | None = None, *, token_from: str = "/", **kw: Any
) -> Any:
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, token_from))
    return client.post(path, data=data, **kw)


def login(client: FlaskClient, username: str, password: str = "passw0rd!", locale: str | None = None) -> Any:
    resp = post(client, "/login", {"username": username, "password": password}, token_from="/login")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    if locale:
        post(client, "/language", {"locale": locale, "next": "/"})
    return resp


def logout(client: FlaskClient) -> None:
    post(client, "/logout")


def start(rt: Any, org: dict[str, Any], key: str = "review_loop", unit: str = "plant_a", **data: Any) -> int:
    with rt.sessions.begin() as s:
        inst = instances.start_instance(
            s,
            rt,
            key,
            {"subject": "资金管理", "deadline": "2025-04-30", **data},
            unit_id=org["units"][unit],
            actor="office",
            title=f"整改：{unit}",
        )
        return inst.id


def ready_tasks(rt: Any, instance_id: int) -> list[Any]:
    from sqlalchemy import select

    from rectiflow.db.runtime import UserTask

    with rt.reads() as s:
        return list(
            s.scalars(select(UserTask).where(UserTask.instance_id == instance_id, UserTask.status == "ready"))
        )
