"""The outbox admin page (deliveries, retry of a dead one, worker heartbeats) and the preferences page."""

from __future__ import annotations

from sqlalchemy import select
from web.conftest import app, client, login, post  # noqa: F401,F811  (fixtures and helpers of the web tests)

from rectiflow.db.domain import Delivery
from rectiflow.db.org import User
from rectiflow.services import notifications
from workers.runner import Worker


def test_admin_sees_dead_deliveries_and_workers_and_retries(rt, org, client):  # noqa: F811
    with rt.sessions.begin() as s:
        user = s.get(User, org["actors"]["a_fin"].user_id)
        user.preferences = {"email": False, "webhooks": ["http://127.0.0.1:9/nothing-listens"]}
        s.flush()
        notifications.create_notices(s, rt.clock, rt.settings, kind="reminder", subject="请报送", body="正文",
                                     users=[user], key="k")
    rt.settings = rt.settings.with_(extra={"job_backoff_base_s": 0})
    worker = Worker(rt, "vm:1234:abc")
    for _ in range(8):
        worker.tick()
    with rt.reads() as s:
        d = s.scalar(select(Delivery))
        assert d.status == "dead" and d.attempts == 8
    login(client, "a_fin")
    assert client.get("/admin/notifications/").status_code == 403
    post(client, "/logout")
    login(client, "admin")
    page = client.get("/admin/notifications/?status=dead").get_data(as_text=True)
    assert "nothing-listens" in page and "vm:1234:abc" in page and "请报送" in page
    resp = post(client, f"/admin/notifications/{d.id}/retry", token_from="/admin/notifications/")
    assert resp.status_code == 302
    with rt.reads() as s:
        assert s.get(Delivery, d.id).status == "pending"


def test_preferences_page_saves_and_explains_errors(rt, org, client):  # noqa: F811
    login(client, "a_fin")
    page = client.get("/preferences/").get_data(as_text=True)
    assert 'name="digest"' in page
    bad = post(client, "/preferences/", {"email": "on", "webhooks": "ftp://x.test/h"}, token_from="/preferences/")
    assert bad.status_code == 400 and "http(s)" in bad.get_data(as_text=True)
    # the hosts are on the default allowlist of webhook targets (the robot services)
    ok = post(client, "/preferences/", {"digest": "on", "webhooks": "wecom https://qyapi.weixin.qq.com/send?key=1\n"
                                        "https://oapi.dingtalk.com/a"}, token_from="/preferences/")
    assert ok.status_code == 302
    with rt.reads() as s:
        prefs = notifications.preferences(s.get(User, org["actors"]["a_fin"].user_id))
    assert prefs["email"] is False and prefs["digest"] is True
    assert prefs["webhooks"] == [{"url": "https://qyapi.weixin.qq.com/send?key=1", "format": "wecom"},
                                 {"url": "https://oapi.dingtalk.com/a", "format": "generic"}]
