"""Inbox round and unit filters, and the filter sets a user saves under a name."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rectiflow.db.org import User
from tests.web.conftest import login, post, start

pytestmark = pytest.mark.usefixtures("deployed")
ROWS = 'class="row-'


def saved(rt, username):
    with rt.reads() as s:
        return s.scalar(select(User).where(User.username == username)).preferences.get("inbox_filters")


def test_round_and_unit_filters_narrow_the_rows(rt, org, client):
    start(rt, org, round_id=7, round_title="第七轮")
    start(rt, org, round_id=8)
    fin = start(rt, org, unit="plant_a_finance", round_id=7)
    start(rt, org, unit="plant_b", round_id=7)  # another plant: never in a_rect's inbox
    login(client, "a_rect")
    page = client.get("/").get_data(as_text=True)
    assert page.count(ROWS) == 3
    assert '<option value="7"' in page and '<option value="8"' in page  # rounds of my tasks
    units = org["units"]
    assert f'<option value="{units["plant_a"]}"' in page and f'<option value="{units["plant_a_hr"]}"' in page
    assert f'<option value="{units["plant_b"]}"' not in page  # only the units I can see
    assert client.get("/?round=7").get_data(as_text=True).count(ROWS) == 2
    assert client.get("/?round=8").get_data(as_text=True).count(ROWS) == 1
    assert client.get("/?round=9").get_data(as_text=True).count(ROWS) == 0
    # a unit filter takes the unit and everything below it
    assert client.get(f"/?unit={units['plant_a']}").get_data(as_text=True).count(ROWS) == 3
    page = client.get(f"/?unit={units['plant_a_finance']}").get_data(as_text=True)
    assert page.count(ROWS) == 1 and f"/instances/{fin}" in page
    assert client.get(f"/?unit={units['plant_a_finance']}&round=8").get_data(as_text=True).count(ROWS) == 0
    # a unit out of sight narrows nothing (the scope already holds); garbage is a 422 naming the parameter
    assert client.get(f"/?unit={units['plant_b']}").get_data(as_text=True).count(ROWS) == 3
    resp = client.get("/?round=abc")
    assert resp.status_code == 422 and "<code>round</code>" in resp.get_data(as_text=True)


def test_save_apply_and_delete_a_filter(rt, org, client):
    start(rt, org, round_id=7)
    start(rt, org, round_id=8)
    login(client, "a_rect")
    page = client.get("/?round=7").get_data(as_text=True)
    assert 'action="/inbox/filters"' in page and 'name="round" value="7"' in page
    resp = post(client, "/inbox/filters", {"name": "第七轮", "round": "7", "due": "bogus"}, token_from="/?round=7")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/?round=7")
    assert saved(rt, "a_rect") == [{"name": "第七轮", "params": {"round": "7"}}]
    page = client.get("/").get_data(as_text=True)
    assert 'class="saved-filters"' in page
    assert 'href="/?round=7"' in page and ">第七轮</a>" in page
    assert page.count(ROWS) == 2
    assert client.get("/?round=7").get_data(as_text=True).count(ROWS) == 1  # applying the saved link
    # the same name replaces; another name adds
    post(client, "/inbox/filters", {"name": "第七轮", "round": "8"})
    post(client, "/inbox/filters", {"name": "超期", "due": "overdue"})
    assert saved(rt, "a_rect") == [{"name": "第七轮", "params": {"round": "8"}},
                                   {"name": "超期", "params": {"due": "overdue"}}]
    resp = post(client, "/inbox/filters/delete", {"name": "第七轮"})
    assert resp.status_code == 302
    assert saved(rt, "a_rect") == [{"name": "超期", "params": {"due": "overdue"}}]
    assert ">第七轮</a>" not in client.get("/").get_data(as_text=True)
    # other users keep their own lists
    assert saved(rt, "a_fin") is None


def test_invalid_name_gives_a_message_and_saves_nothing(rt, org, client):
    login(client, "a_rect")
    for name in ("", "   ", "x" * 51):
        resp = post(client, "/inbox/filters", {"name": name, "round": "7"}, follow_redirects=True)
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        assert "flash-error" in body, name
    # a NUL never reaches the view: the input guard answers 422 naming the field
    resp = post(client, "/inbox/filters", {"name": "a\x00b", "round": "7"})
    assert resp.status_code == 422 and "name" in resp.get_data(as_text=True)
    body = post(client, "/inbox/filters", {"name": "空的"}, follow_redirects=True).get_data(as_text=True)
    assert "flash-error" in body
    assert not saved(rt, "a_rect")


def test_at_most_twenty_saved_filters(rt, org, client):
    login(client, "a_rect")
    for i in range(20):
        post(client, "/inbox/filters", {"name": f"f{i}", "round": str(i + 1)})
    assert len(saved(rt, "a_rect")) == 20
    body = post(client, "/inbox/filters", {"name": "one more", "round": "99"}, follow_redirects=True)
    assert "flash-error" in body.get_data(as_text=True)
    assert len(saved(rt, "a_rect")) == 20
    post(client, "/inbox/filters", {"name": "f3", "due": "week"})  # replacing is still allowed
    assert saved(rt, "a_rect")[3] == {"name": "f3", "params": {"due": "week"}}


def test_saving_needs_a_csrf_token(rt, org, client):
    login(client, "a_rect")
    assert client.post("/inbox/filters", data={"name": "x", "round": "7"}).status_code == 400
    assert not saved(rt, "a_rect")
