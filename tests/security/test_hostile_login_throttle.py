"""Issue 15, fault 5: ``POST /api/v1/auth/token`` had no rate limit and the web login's limiter lived in
one process's memory. Now one throttle, in the database, counts both, for every process: a 429 with
``Retry-After`` once a username + address has failed too often."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from rectiflow.db.security import LoginThrottle
from rectiflow.services.accounts import throttle
from rectiflow.services.runtime import build_runtime
from tests import conftest as root_conftest
from tests.web.conftest import csrf_token
from webapp import create_app

WRONG = {"username": "a_fin", "password": "wrong-passw0rd"}
RIGHT = {"username": "a_fin", "password": "passw0rd!"}


def _web_login(client, password):
    return client.post("/login", data={"username": "a_fin", "password": password,
                                       "csrf_token": csrf_token(client, "/login")})


def test_the_token_endpoint_locks_after_repeated_failures(rt, org, client):
    for _ in range(throttle.MAX_FAILURES):
        assert client.post("/api/v1/auth/token", json=WRONG).status_code == 401
    resp = client.post("/api/v1/auth/token", json=WRONG)
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["retry_after"] == int(throttle.LOCK.total_seconds()) == int(resp.headers["Retry-After"])
    assert "try again in 10 minute" in body["message"]
    # While locked, even the right password is not checked: the lock is no oracle.
    assert client.post("/api/v1/auth/token", json=RIGHT).status_code == 429
    rt.clock.advance(throttle.LOCK)
    assert client.post("/api/v1/auth/token", json=RIGHT).status_code == 200
    with rt.reads() as s:  # a success clears the key
        assert s.scalars(select(LoginThrottle)).all() == []


def test_the_web_login_and_the_api_share_one_count(rt, org, client):
    for _ in range(throttle.MAX_FAILURES - 1):
        assert client.post("/api/v1/auth/token", json=WRONG).status_code == 401
    assert _web_login(client, "wrong-passw0rd").status_code == 401  # the fifth failure, on the web
    resp = _web_login(client, "wrong-passw0rd")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "600"
    assert "10" in resp.get_data(as_text=True)
    assert _web_login(client, "passw0rd!").status_code == 429
    rt.clock.advance(timedelta(minutes=9))
    assert _web_login(client, "passw0rd!").status_code == 429
    rt.clock.advance(timedelta(minutes=1))
    assert _web_login(client, "passw0rd!").status_code == 302


def test_two_processes_count_against_one_limit(rt, org, settings, client):
    """A second runtime on the same database (another worker process of the web server)."""
    other_rt = build_runtime(settings, root_conftest.test_registry(), clock=rt.clock)
    try:
        other = create_app(other_rt, testing=True).test_client()
        for i in range(throttle.MAX_FAILURES):
            via = client if i % 2 else other
            assert via.post("/api/v1/auth/token", json=WRONG).status_code == 401
        assert other.post("/api/v1/auth/token", json=WRONG).status_code == 429
        assert client.post("/api/v1/auth/token", json=RIGHT).status_code == 429
    finally:
        other_rt.dispose()


def test_failures_spread_over_more_than_the_window_do_not_lock(rt, org, client):
    for _ in range(throttle.MAX_FAILURES - 1):
        assert client.post("/api/v1/auth/token", json=WRONG).status_code == 401
    rt.clock.advance(throttle.WINDOW)
    assert client.post("/api/v1/auth/token", json=WRONG).status_code == 401  # a new window
    assert client.post("/api/v1/auth/token", json=RIGHT).status_code == 200


def test_another_account_or_address_is_not_locked(rt, org, client):
    for _ in range(throttle.MAX_FAILURES):
        client.post("/api/v1/auth/token", json=WRONG)
    assert client.post("/api/v1/auth/token", json={"username": "a_fin2", "password": "passw0rd!"}).status_code == 200
    elsewhere = client.post("/api/v1/auth/token", json=RIGHT, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 200
