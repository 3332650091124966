"""Helpers shared by the browser journeys (a module of its own: conftest is not importable by name)."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "rectiflow2025"  # the demo accounts' password (README)


def expect() -> Any:
    from playwright.sync_api import expect as _expect

    return _expect


def login(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button.primary")
    expect()(page.locator("h1")).to_have_text(re.compile("我的待办|My tasks"))


def logout(page: Any) -> None:
    page.click("form[action='/logout'] button")
    expect()(page.locator("#username")).to_be_visible()
