"""One event, two readers: a deadline warning of a real round reaches a Chinese and an English recipient,
each in their own language (``User.locale``), in the app and by mail; the daily digest too. The notice
is rendered once, at creation, so the in-app copy and the mail say the same thing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from scenarios.test_round import beijing_9, open_round, plan_approved, problems
from sqlalchemy import select
from test_notifications import hooks  # noqa: F401  (the loopback webhook receiver fixture)

from rectiflow.db.domain import Notice
from rectiflow.db.org import User
from rectiflow.services import notifications
from workers.runner import Worker


@pytest.fixture
def smtp_url(mailbox: Any) -> str:
    return mailbox.url


def _set_locale(rt: Any, org: dict[str, Any], who: str, locale: str) -> None:
    with rt.sessions.begin() as s:
        s.get(User, org["actors"][who].user_id).locale = locale


def _notices(rt: Any, org: dict[str, Any], who: str) -> list[Notice]:
    with rt.reads() as s:
        return list(s.scalars(select(Notice).where(Notice.recipient_id == org["actors"][who].user_id)
                              .order_by(Notice.id)))


def test_a_warning_reaches_a_chinese_and_an_english_recipient_each_in_their_language(rt, chain, mailbox):
    mailbox.start()
    org = chain
    _set_locale(rt, org, "a_fin2", "en")
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid = problems(rt, round_id)["1.1"][0]  # plant A finance, deadline 2025-04-30
    Worker(rt, "w").tick()
    mailbox.messages.clear()

    rt.clock.set(beijing_9("2025-04-10") + timedelta(seconds=1))  # green: less than a month left
    Worker(rt, "w").tick()

    [zh] = [n for n in _notices(rt, org, "a_fin") if n.problem_id == pid and n.kind == "warning_green"]
    [en] = [n for n in _notices(rt, org, "a_fin2") if n.problem_id == pid and n.kind == "warning_green"]
    assert zh.subject == "【绿色预警】问题 1.1 整改时限 2025-04-30"
    assert en.subject == "[Green warning] Problem 1.1: rectification deadline 2025-04-30"
    assert zh.body.startswith("a_fin同志：\n\n2025年第一轮巡察反馈的问题 1.1 距整改时限（2025-04-30）已不足一个月")
    assert en.body.startswith("Dear a_fin2,\n\nProblem 1.1 raised by 2025年第一轮巡察 is less than a month from "
                              "its rectification deadline (2025-04-30)")
    assert "整改时限：2025-04-30" in zh.body and "Rectification deadline: 2025-04-30" in en.body
    assert en.body.rstrip().endswith("Details: http://rectiflow.test/notices/\n—— Inspection Rectification System")
    assert zh.body.rstrip().endswith("查看详情：http://rectiflow.test/notices/\n—— 巡察整改系统")
    # No Chinese words of ours reach the English reader: what is left is the round's and problem's own data.
    left = en.body.replace("2025年第一轮巡察", "").replace("公务接待超标准", "")
    assert not [c for c in left if "\u4e00" <= c <= "\u9fff"], left

    mails = mailbox.by_recipient()
    [zh_mail] = [m for m in mails["a_fin@example.test"] if "1.1" in m["Subject"]]
    [en_mail] = [m for m in mails["a_fin2@example.test"] if "1.1" in m["Subject"]]
    assert zh_mail["Subject"] == zh.subject and en_mail["Subject"] == en.subject
    def text(mail: Any) -> str:
        return str(mail.get_content()).replace("\r\n", "\n").strip()

    assert text(zh_mail) == zh.body.strip() and text(en_mail) == en.body.strip()
    assert zh_mail["From"].addresses[0].display_name == "巡察整改系统"
    assert en_mail["From"].addresses[0].display_name == "Inspection Rectification System"


def test_the_daily_digest_is_written_in_its_readers_language(rt, org, mailbox):
    mailbox.start()
    rt.clock.set(beijing_9("2025-01-31"))
    for who, locale in (("a_fin", "zh_CN"), ("a_fin2", "en")):
        _set_locale(rt, org, who, locale)
        with rt.sessions.begin() as s:
            notifications.set_preferences(s, rt.clock, org["actors"][who].user_id, {"email": True, "digest": True},
                                          actor=who)
    with rt.sessions.begin() as s:
        users = [s.get(User, org["actors"][w].user_id) for w in ("a_fin", "a_fin2")]
        subject, body = notifications.warning_texts("yellow", "2.1", "2025-03-31", "干部选拔程序不严")
        notifications.create_notices(s, rt.clock, rt.settings, kind="warning_yellow", subject=subject, body=body,
                                     users=users, key="digest-language")
    worker = Worker(rt, "w")
    assert worker.schedule_digests(force=True) == 2
    worker.tick()
    mails = mailbox.by_recipient()
    [zh] = mails["a_fin@example.test"]
    [en] = mails["a_fin2@example.test"]
    assert zh["Subject"] == "【每日汇总】2025-01-31 您有 1 条未读通知"
    assert en["Subject"] == "[Daily digest] 1 unread notices on 2025-01-31"
    assert "- [黄色预警] 【黄色预警】问题 2.1 整改时限 2025-03-31（" in zh.get_content()
    assert "- [Yellow warning] [Yellow warning] Problem 2.1: rectification deadline 2025-03-31 (" in en.get_content()
    assert "See all: http://rectiflow.test/notices/" in en.get_content()


def test_a_robot_message_links_to_the_notices_in_its_readers_language(rt, org, hooks):  # noqa: F811
    for who, locale, fmt in (("a_fin", "zh_CN", "wecom"), ("a_fin2", "en", "dingtalk")):
        _set_locale(rt, org, who, locale)
        with rt.sessions.begin() as s:
            notifications.set_preferences(s, rt.clock, org["actors"][who].user_id, {
                "email": False, "webhooks": [{"url": f"{hooks.base}/{fmt}", "format": fmt}]}, actor=who)
    with rt.sessions.begin() as s:
        users = [s.get(User, org["actors"][w].user_id) for w in ("a_fin", "a_fin2")]
        subject, body = notifications.warning_texts("red", "1.2", "2025-01-20", "资金审批不规范")
        notifications.create_notices(s, rt.clock, rt.settings, kind="reminder", subject=subject, body=body,
                                     users=users, key="robots")
    Worker(rt, "w").tick()
    got = {r["path"].split("?")[0]: r["json"] for r in hooks.received}
    wecom, ding = got["/wecom"]["markdown"]["content"], got["/dingtalk"]["markdown"]["text"]
    assert wecom.startswith("**【提醒】【红色预警】问题 1.2 整改时限 2025-01-20**") and "[查看详情](" in wecom
    assert ding.startswith("### [Reminder] [Red warning] Problem 1.2: rectification deadline 2025-01-20")
    assert "[View details](" in ding and "查看详情" not in ding


def test_templates_check_in_both_languages_and_accept_the_catalogue_function(tmp_path):
    assert notifications.validate_templates() == []
    for kind in (*notifications.KINDS, "digest"):
        (tmp_path / f"{kind}.txt").write_text('{{ _("Details: %(link)s", link=link) }}\n{{ system_name }}\n',
                                              encoding="utf-8")
    assert notifications.validate_templates(tmp_path) == []
    (tmp_path / "reminder.txt").write_text('{{ gettext("Details") }}\nbody\n', encoding="utf-8")
    [finding] = notifications.validate_templates(tmp_path)
    assert finding["file"] == "notifications/reminder.txt" and "gettext" in finding["problem"]
