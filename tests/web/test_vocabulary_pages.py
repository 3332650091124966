"""Admin pages label stored codes from the one vocabulary (``rectiflow.domain.vocab``), in the reader's
language: unit kinds on the organisation page, delivery statuses and channels on the outbox page. A robot
webhook (企业微信, 钉钉) is a delivery channel of its own, so a notice to a user who set one is queued
(the database's CHECK on ``deliveries.channel`` accepts it) and shown with its label."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rectiflow.db.domain import Delivery
from rectiflow.db.org import User
from rectiflow.domain.vocab import DeliveryChannel, DeliveryStatus, UnitKind
from rectiflow.services import notifications
from tests.web.conftest import login

pytestmark = pytest.mark.usefixtures("deployed")


@pytest.mark.parametrize(("locale", "enterprise", "department"), [("zh_CN", "企业", "部门"),
                                                                    ("en", "Enterprise", "Department")])
def test_org_page_shows_unit_kinds_in_the_readers_language(client, org, locale, enterprise, department):
    login(client, "admin", locale=locale)
    page = client.get("/admin/org/units").get_data(as_text=True)
    assert f"<td><code>plant_a</code></td><td>{enterprise}</td>" in page
    assert f"<td><code>plant_a_finance</code></td><td>{department}</td>" in page
    # The new-unit form offers every kind of the vocabulary, a department by default.
    for kind in UnitKind:
        assert f'<option value="{kind}"' in page
    assert f'<option value="department" selected>{department}</option>' in page


def _queue_robot_notice(rt, org) -> None:
    with rt.sessions.begin() as s:
        user = s.get(User, org["actors"]["a_fin"].user_id)
        user.preferences = {"email": False, "webhooks": [{"url": "http://127.0.0.1:9/robot", "format": "wecom"},
                                                         {"url": "http://127.0.0.1:9/ding", "format": "dingtalk"}]}
        s.flush()
        notifications.create_notices(s, rt.clock, rt.settings, kind="admonition", subject="请按期整改", body="正文",
                                     users=[user], key="vocab-pages")


def test_a_robot_webhook_is_queued_on_its_own_channel(rt, org):
    _queue_robot_notice(rt, org)
    with rt.reads() as s:
        rows = {(d.channel, d.status) for d in s.scalars(select(Delivery))}
    assert rows == {(DeliveryChannel.WECOM, DeliveryStatus.PENDING), (DeliveryChannel.DINGTALK, DeliveryStatus.PENDING)}


@pytest.mark.parametrize(("locale", "wecom", "dingtalk", "pending"), [
    ("zh_CN", "企业微信机器人", "钉钉机器人", "待投递"),
    ("en", "WeCom robot", "DingTalk robot", "Pending"),
])
def test_outbox_page_labels_statuses_and_channels(rt, org, client, locale, wecom, dingtalk, pending):
    _queue_robot_notice(rt, org)
    login(client, "admin", locale=locale)
    page = client.get("/admin/notifications/").get_data(as_text=True)
    assert f"<td>{wecom}</td>" in page and f"<td>{dingtalk}</td>" in page
    assert f"{pending} (2)" in page  # the filter links: each status of the vocabulary with its count
    for status in DeliveryStatus:
        assert f"status={status}" in page
    only_dead = client.get("/admin/notifications/?status=dead").get_data(as_text=True)
    assert wecom not in only_dead  # the filter takes the vocabulary's codes


def test_outbox_ignores_a_status_outside_the_vocabulary(rt, org, client):
    _queue_robot_notice(rt, org)
    login(client, "admin")
    page = client.get("/admin/notifications/?status=bogus")
    assert page.status_code == 200 and "企业微信机器人" in page.get_data(as_text=True)  # unfiltered, not a 500


def test_admonition_is_labelled_with_the_papers_term():
    assert notifications.kind_label("admonition", "zh_CN") == "告诫"
    assert notifications.kind_label("admonition", "en") == "Admonition"
    assert notifications.kind_label("a_diagrams_own_kind", "zh_CN") == "a_diagrams_own_kind"
