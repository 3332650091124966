"""Issue 15, fault 9: one administrator's clock advance of ``99999999d`` made every later page fail with
OverflowError, and ``999999999999999999999s`` was a 500 of its own. Durations are bounded (CLI, admin
page, API) and the virtual clock never passes what dates can hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from rectiflow.clock import MAX_DURATION, OffsetClock, parse_duration
from rectiflow.errors import InvalidInput
from rectiflow.services import clockstore
from tests.web.conftest import login, post

HUGE = ["99999999d", "999999999999999999999s", "P99999999999999999999D", "36526d", "5218w"]


@pytest.mark.parametrize("text", HUGE)
def test_the_parser_refuses_durations_past_a_century(text):
    with pytest.raises(ValueError, match="too long"):
        parse_duration(text)


def test_the_parser_still_reads_ordinary_durations():
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("1d12h") == timedelta(days=1, hours=12)
    assert parse_duration("P90D") == timedelta(days=90)
    assert parse_duration(f"{MAX_DURATION.days}d") == MAX_DURATION


@pytest.mark.parametrize("text", ["99999999d", "999999999999999999999s"])
def test_the_admin_page_and_the_api_answer_422_and_every_page_still_works(rt, org, client, text):
    login(client, "admin")
    before = rt.clock.now()
    resp = post(client, "/admin/clock", {"duration": text})
    assert resp.status_code == 422 and "36525" in resp.get_data(as_text=True)
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": "passw0rd!"}).get_json()["token"]
    h = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/clock/advance", json={"duration": text}, headers=h)
    assert resp.status_code == 422, resp.get_json()
    assert rt.clock.now() == before
    for page in ("/", "/admin/clock", "/ledger/", "/rounds/"):
        assert client.get(page).status_code in (200, 302), page
    assert client.get("/api/v1/clock", headers=h).status_code == 200


def test_repeated_advances_stop_at_the_latest_date(rt, org, client):
    """A century at a time is allowed, but the clock never passes ``LATEST`` (year 2999)."""
    login(client, "admin")
    for _ in range(20):
        resp = post(client, "/admin/clock", {"duration": f"{MAX_DURATION.days}d"})
        if resp.status_code == 422:
            break
        assert resp.status_code == 302
    assert resp.status_code == 422 and "2999-12-31" in resp.get_data(as_text=True)
    assert rt.clock.now() <= clockstore.LATEST
    assert client.get("/").status_code == 200


def test_the_shared_virtual_clock_refuses_to_pass_the_latest_date(rt, org):
    clock = OffsetClock(clockstore._OffsetCache(rt.reads))
    with rt.sessions.begin() as s:  # the rows of one transaction: the second advance sees the first
        clockstore.advance(s, clock, timedelta(days=36000))
        clockstore.advance(s, clock, timedelta(days=36000))
    with pytest.raises(InvalidInput) as caught:
        for _ in range(20):
            with rt.sessions.begin() as s:
                clockstore.advance(s, clock, MAX_DURATION)
    assert list(caught.value.errors) == ["duration"]
    assert clock.now() <= clockstore.LATEST


def test_the_cli_refuses_a_huge_duration(rt, monkeypatch):
    from rectiflow_cli.main import main

    monkeypatch.setenv("RECTIFLOW_DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("RECTIFLOW_CLOCK", "virtual")
    result = CliRunner().invoke(main, ["clock", "advance", "99999999d"])
    assert result.exit_code == 2 and "too long" in result.output
