"""Issue 15, fault 6: sessions and API tokens end with a password change or reset, a logout everywhere
and a role removal (the account's ``auth_epoch``, carried in both and checked on every request); after a
role removal, what the account once completed is no longer readable through ``completed_by``."""

from __future__ import annotations

import pytest

from rectiflow.errors import NotFound
from rectiflow.services.accounts import users as us
from rectiflow.services.accounts.actors import load_actor
from rectiflow.services.workflow import tasks
from tests.web.conftest import login, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")


def _token(client, username, password="passw0rd!"):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200  # a page that needs a login; else a redirect to it


def test_a_password_reset_ends_every_session_and_token(rt, org, app, client):
    login(client, "a_fin")
    h = _token(client, "a_fin")
    assert _signed_in(client) and client.get("/api/v1/me", headers=h).status_code == 200
    with rt.sessions.begin() as s:
        us.set_password(s, rt.clock, "a_fin", "n3w-passw0rd", actor="admin")
    assert not _signed_in(client)
    resp = client.get("/api/v1/me", headers=h)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    assert client.post("/api/v1/auth/token", json={"username": "a_fin", "password": "passw0rd!"}).status_code == 401
    assert client.get("/api/v1/me", headers=_token(client, "a_fin", "n3w-passw0rd")).status_code == 200


def test_logout_everywhere_on_the_preferences_page(rt, org, app, client):
    other_device = app.test_client()
    login(client, "a_fin")
    login(other_device, "a_fin")
    h = _token(client, "a_fin")
    colleague = app.test_client()
    login(colleague, "a_fin2")

    resp = post(client, "/preferences/logout-everywhere", token_from="/preferences/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert not _signed_in(client) and not _signed_in(other_device)
    assert client.get("/api/v1/me", headers=h).status_code == 401
    assert _signed_in(colleague)  # only the account's own sessions end
    login(client, "a_fin")
    assert _signed_in(client)


def test_logout_everywhere_through_the_api(rt, org, app, client):
    login(client, "a_fin")
    h = _token(client, "a_fin")
    second = _token(client, "a_fin")
    resp = client.post("/api/v1/auth/logout-all", headers=h)
    assert resp.status_code == 200 and resp.get_json() == {"ok": True}
    assert client.get("/api/v1/me", headers=h).status_code == 401
    assert client.get("/api/v1/me", headers=second).status_code == 401
    assert not _signed_in(client)


def test_changing_my_password_checks_the_current_one_and_ends_my_sessions(rt, org, app, client):
    other_device = app.test_client()
    login(other_device, "a_fin")
    login(client, "a_fin")
    wrong = post(client, "/preferences/password", {"current_password": "guess1234", "new_password": "n3w-passw0rd",
                                                   "confirm_password": "n3w-passw0rd"}, token_from="/preferences/")
    assert wrong.status_code == 400 and "current_password" in wrong.get_data(as_text=True)
    assert _signed_in(other_device)  # nothing changed
    resp = post(client, "/preferences/password", {"current_password": "passw0rd!", "new_password": "n3w-passw0rd",
                                                  "confirm_password": "n3w-passw0rd"}, token_from="/preferences/")
    assert resp.status_code == 302
    assert not _signed_in(client) and not _signed_in(other_device)
    login(client, "a_fin", "n3w-passw0rd")


def test_a_role_removal_ends_sessions_and_hides_what_was_completed(rt, org, app, client):
    iid = start(rt, org)
    [draft] = ready_tasks(rt, iid)
    with rt.sessions.begin() as s:
        tasks.complete_task(s, rt, draft.id, org["actors"]["a_rect"], {"note": "第一稿"})
    h = _token(client, "a_rect")
    login(client, "a_rect")
    assert client.get(f"/api/v1/instances/{iid}", headers=h).status_code == 200

    with rt.sessions.begin() as s:
        us.unassign(s, rt.clock, "a_rect", "rectification_office", "plant_a", actor="admin")
    assert client.get("/api/v1/me", headers=h).status_code == 401
    assert not _signed_in(client)

    with rt.reads() as s:
        stripped = load_actor(s, org["actors"]["a_rect"].user_id)
        assert not tasks.can_view(s.get(type(draft), draft.id), stripped)
        with pytest.raises(NotFound):
            tasks.get_task(s, draft.id, stripped)
    fresh = _token(client, "a_rect")  # still an account, without the role
    assert client.get(f"/api/v1/instances/{iid}", headers=fresh).status_code == 404
    assert client.get(f"/api/v1/tasks/{draft.id}", headers=fresh).status_code == 404
