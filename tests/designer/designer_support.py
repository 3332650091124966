"""Helpers for the designer tests (a module of its own: ``import conftest`` is ambiguous)."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "passw0rd!"


def token(client: FlaskClient, path: str = "/login") -> str:
    m = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def login(client: FlaskClient, username: str) -> None:
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def post_json(client: FlaskClient, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers={"X-CSRFToken": token(client, "/")})


def post_form(client: FlaskClient, path: str, data: dict[str, Any], **kw: Any) -> Any:
    return client.post(path, data={**data, "csrf_token": token(client, "/")}, **kw)
