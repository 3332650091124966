"""Hardening (issue 15): security headers on every response, a Content-Security-Policy without inline
script (so no template may carry one), and a ``Secure`` session cookie with RECTIFLOW_SECURE_COOKIES=1."""

from __future__ import annotations

import re

import pytest
from testsupport import ROOT

from rectiflow.services.runtime import build_runtime
from tests import conftest as root_conftest
from tests.web.conftest import login
from webapp import create_app
from webapp.guard import too_deep

TEMPLATES = sorted((ROOT / "webapp" / "templates").rglob("*.html"))
PAGES = ["/login", "/", "/preferences/", "/admin/clock", "/no-such-page", "/api/v1/me", "/api/v1/openapi.json",
         "/static/css/app.css"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(org, client, path):
    login(client, "admin")
    resp = client.get(path)
    resp.close()  # a static file is streamed: release it
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline'; img-src" not in csp.split("script-src")[1][:30]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "webapp" / "templates")))
def test_no_template_carries_inline_script(path):
    html = path.read_text("utf-8")
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, (path.name, tag)
    assert not re.search(r"\son[a-z]+\s*=", html), path.name  # onclick=, onsubmit=, ...
    assert "javascript:" not in html.lower(), path.name


def test_the_session_cookie_is_secure_when_configured(rt, org, settings):
    app = create_app(rt, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False  # the cookie is the subject here, not the form
    plain = app.test_client()
    resp = plain.post("/login", data={"username": "admin", "password": "passw0rd!"})
    assert "Secure" not in resp.headers["Set-Cookie"]

    secure_rt = build_runtime(settings.with_(secure_cookies=True), root_conftest.test_registry(), clock=rt.clock)
    try:
        secure_app = create_app(secure_rt, testing=True)
        secure_app.config["WTF_CSRF_ENABLED"] = False
        client = secure_app.test_client()
        resp = client.post("/login", data={"username": "admin", "password": "passw0rd!"})
        assert resp.status_code == 302
        cookie = resp.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        secure_rt.dispose()


def test_the_depth_scan_ignores_brackets_inside_strings():
    assert not too_deep('{"a": "' + "[" * 500 + '"}')
    assert too_deep("[" * 65 + "]" * 65) and not too_deep("[" * 64 + "]" * 64)
    assert not too_deep('["\\"[[[[", {"k": [1, 2]}]', limit=3)
