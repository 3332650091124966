"""Designer fixtures: the test runtime with a designer account, an app with CSRF on, and helpers to
call the JSON endpoints with the page's token."""

from __future__ import annotations

from typing import Any

import pytest
from designer_support import PASSWORD
from flask import Flask
from flask.testing import FlaskClient

from rectiflow.services.accounts import users as us
from webapp import create_app


@pytest.fixture
def people(rt: Any) -> dict[str, str]:
    with rt.sessions.begin() as s:
        us.create_unit(s, rt.clock, code="group", name="集团", kind="group")
        for name, role in (("designer", "process_designer"), ("boss", "admin"), ("clerk", "inspection_office")):
            us.create_user(
                s, rt.clock, username=name, display_name=name, password=PASSWORD, email=f"{name}@example.test"
            )
            us.assign(s, rt.clock, name, role, "group")
    return {"designer": "designer", "admin": "boss", "other": "clerk"}


@pytest.fixture
def app(rt: Any, people: dict[str, str]) -> Flask:
    app = create_app(rt, testing=True)
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
