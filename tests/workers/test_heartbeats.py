"""Workers' heartbeats: a live worker's row moves every tick; a dead worker's row is shown as not
responding, then removed by the next worker that ticks once it has been silent for a day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from rectiflow.db.jobs import WorkerHeartbeat
from rectiflow.services import heartbeats
from workers.runner import Worker


def _rows(rt):
    with rt.reads() as s:
        return {hb.worker_id: hb.last_seen for hb in s.scalars(select(WorkerHeartbeat))}


def test_a_dead_workers_heartbeat_goes_stale_then_expires(rt):
    tick = rt.settings.tick_seconds
    Worker(rt, "dead").tick()  # a worker that ticked once and then crashed (no sign-off)
    started = _rows(rt)["dead"]

    rt.clock.advance(timedelta(minutes=10))
    Worker(rt, "alive").tick()
    with rt.reads() as s:
        listed = {hb.worker_id: stale for hb, stale in heartbeats.listed(s, rt.clock.now(), tick)}
    assert listed == {"alive": False, "dead": True}  # shown as not responding, still listed

    rt.clock.advance(heartbeats.expire_after(tick) + timedelta(seconds=1) - timedelta(minutes=10))
    Worker(rt, "alive").tick()
    rows = _rows(rt)
    assert "dead" not in rows and rows["alive"] > started  # removed; the live one moved on


def test_a_worker_silent_for_less_than_the_expiry_is_kept(rt):
    tick = rt.settings.tick_seconds
    Worker(rt, "slow").tick()
    rt.clock.advance(heartbeats.expire_after(tick) - timedelta(minutes=1))
    Worker(rt, "other").tick()
    assert set(_rows(rt)) == {"slow", "other"}


def test_the_admin_page_marks_a_silent_worker(rt, org):
    from tests.web.conftest import login
    from webapp import create_app

    Worker(rt, "gone").tick()
    rt.clock.advance(timedelta(minutes=5))
    client = create_app(rt, testing=True).test_client()
    login(client, "admin")
    page = client.get("/admin/notifications/").get_data(as_text=True)
    assert "gone" in page and "无响应" in page
