"""Notifications end to end with real components on loopback: aiosmtpd receives the warning mails
of a real round (processes/ deployed), a ThreadingHTTPServer receives webhooks in the three
formats, SMTP down → retries → up → one mail each, dead letters and their retry, the daily digest,
preferences, acknowledgement and the template check."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest_helpers import deliveries, jobs_of
from scenarios.test_round import beijing_9, open_round, plan_approved, problems
from sqlalchemy import func, select

from rectiflow.db.audit import AuditEvent
from rectiflow.db.domain import Delivery, Notice
from rectiflow.db.jobs import Incident, Job
from rectiflow.db.org import User
from rectiflow.errors import Conflict, InvalidInput, NotFound
from rectiflow.services import audit, jobs, notifications
from workers.runner import Worker


@pytest.fixture
def smtp_url(mailbox: Any) -> str:
    return mailbox.url


def run_worker(rt: Any) -> Any:
    return Worker(rt, "test-worker").tick()


# ------------------------------------------------------------------------------ SMTP, real round

def test_green_yellow_red_mails_of_a_real_round_arrive_once(rt, chain, mailbox):
    mailbox.start()
    org = chain
    round_id, round_iid = open_round(rt, org)
    plan_approved(rt, org, round_iid)
    pid = problems(rt, round_id)["1.1"][0]  # plant A finance, deadline 2025-04-30
    run_worker(rt)
    mailbox.messages.clear()  # the round's own reminders are not what this test is about

    def mails_for(kind_word: str) -> dict[str, list[Any]]:
        return {r: [m for m in ms if kind_word in m["Subject"] and "1.1" in m["Subject"]]
                for r, ms in mailbox.by_recipient().items()}

    rt.clock.set(beijing_9("2025-04-10") + timedelta(seconds=1))
    run_worker(rt)
    green = {r: ms for r, ms in mails_for("绿色预警").items() if ms}
    assert set(green) == {"a_fin@example.test", "a_fin2@example.test"}
    msg = green["a_fin@example.test"][0]
    assert msg["Subject"] == "【绿色预警】问题 1.1 整改时限 2025-04-30"
    body = msg.get_content()
    assert "a_fin同志" in body and "2025年第一轮巡察" in body and "公务接待超标准" in body
    assert "http://rectiflow.test/notices/" in body
    assert msg["Message-ID"].startswith("<") and msg["From"].addresses[0].addr_spec == "rectiflow@example.test"

    rt.clock.set(beijing_9("2025-04-20") + timedelta(seconds=1))
    run_worker(rt)
    yellow = {r for r, ms in mails_for("黄色预警").items() if ms}
    assert yellow == {"a_fin@example.test", "a_fin2@example.test", "a_rect@example.test"}  # a_lead has no e-mail

    rt.clock.set(datetime.fromisoformat("2025-04-30T16:00:01+00:00"))
    run_worker(rt)
    red = mails_for("红色预警")
    assert {r for r, ms in red.items() if ms} == {"a_fin@example.test", "a_fin2@example.test", "a_rect@example.test",
                                                  "a_boss@example.test", "a_jw@example.test"}
    assert "请签收" in red["a_boss@example.test"][0].get_content()
    # nothing twice: more ticks later send nothing new, and every Message-ID is unique
    before = len(mailbox.messages)
    rt.clock.advance(timedelta(hours=2))
    run_worker(rt)
    assert len(mailbox.messages) == before
    ids = [m["Message-ID"] for _r, m in mailbox.messages]
    assert len(ids) == len(set(ids))
    with rt.reads() as s:
        statuses = s.scalars(select(Delivery.status).join(Notice).where(Notice.problem_id == pid)).all()
    assert statuses and set(statuses) == {"sent"}


# ------------------------------------------------------------------------------------ webhooks

class Hooks(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.replies: list[tuple[int, bytes]] = []  # consumed first; then 200 {"errcode":0}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.received.append({"path": self.path, "headers": dict(self.headers),
                                       "json": json.loads(self.rfile.read(length))})
                code, body = outer.replies.pop(0) if outer.replies else (200, b'{"errcode":0,"errmsg":"ok"}')
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def hooks() -> Any:
    server = Hooks()
    yield server
    server.shutdown()
    server.server_close()


def set_prefs(rt, org, who, prefs):
    with rt.sessions.begin() as s:
        return notifications.set_preferences(s, rt.clock, org["actors"][who].user_id, prefs, actor=who)


def notify(rt, org, who: list[str], kind="warning_yellow", key="k1", **kw):
    with rt.sessions.begin() as s:
        users = [s.get(User, org["actors"][w].user_id) for w in who]
        subject = kw.pop("subject", f"【{notifications.kind_label(kind, 'zh_CN')}】问题 1.1 即将到期")
        return notifications.create_notices(s, rt.clock, rt.settings, kind=kind, subject=subject,
                                            body=kw.pop("body", "请抓紧整改。"), users=users, key=key, **kw)


def test_webhooks_in_generic_wecom_and_dingtalk_formats(rt, org, hooks):
    set_prefs(rt, org, "a_fin", {"email": False, "webhooks": [f"{hooks.base}/generic"]})
    set_prefs(rt, org, "a_fin2", {"email": False, "webhooks": [{"url": f"{hooks.base}/wecom", "format": "wecom"}]})
    set_prefs(rt, org, "a_rect", {"email": False, "webhooks": [
        {"url": f"{hooks.base}/ding?access_token=t", "format": "dingtalk", "secret": "SEC123"}]})
    notify(rt, org, ["a_fin", "a_fin2", "a_rect"])
    run_worker(rt)
    got = {r["path"].split("?")[0]: r for r in hooks.received}
    assert set(got) == {"/generic", "/wecom", "/ding"} and len(hooks.received) == 3
    generic = got["/generic"]["json"]
    assert generic["title"].startswith("【黄色预警】") and "请抓紧整改。" in generic["text"]
    assert generic["url"] == "http://rectiflow.test/notices/" and generic["data"]["kind"] == "warning_yellow"
    assert got["/generic"]["headers"]["Idempotency-Key"].startswith("notice:")
    wecom = got["/wecom"]["json"]
    assert wecom["msgtype"] == "markdown" and wecom["markdown"]["content"].startswith("**【黄色预警】")
    ding = got["/ding"]
    assert ding["json"]["msgtype"] == "markdown" and ding["json"]["markdown"]["text"].startswith("### 【黄色预警】")
    assert "timestamp=" in ding["path"] and "sign=" in ding["path"] and "access_token=t" in ding["path"]
    with rt.reads() as s:
        assert {d.channel: d.status for d in s.scalars(select(Delivery))} == {
            "webhook": "sent", "wecom": "sent", "dingtalk": "sent"}
        assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.channel == "email")) == 0


def test_permanent_webhook_failure_is_dead_at_once_and_retry_requeues(rt, org, hooks):
    set_prefs(rt, org, "a_fin", {"email": False, "webhooks": [f"{hooks.base}/gone"]})
    hooks.replies.append((404, b"not here"))
    notify(rt, org, ["a_fin"])
    run_worker(rt)
    [d] = deliveries(rt)
    assert (d.status, d.attempts) == ("dead", 1) and "404" in d.last_error
    with rt.reads() as s:
        [row] = notifications.list_deliveries(s, status="dead")
        assert row.recipient == "a_fin" and row.last_error
        assert s.scalar(select(func.count()).select_from(Incident)) == 1
    with rt.sessions.begin() as s:
        notifications.retry_delivery(s, rt.clock, d.id, actor="admin")
    with pytest.raises(Conflict), rt.sessions.begin() as s:
        notifications.retry_delivery(s, rt.clock, d.id, actor="admin")  # pending now, not dead
    run_worker(rt)
    [d] = deliveries(rt)
    assert d.status == "sent" and len(hooks.received) == 2
    with rt.reads() as s:
        assert s.scalar(select(Incident.status)) == "resolved"
        assert "delivery.retried" in [e.action for e in s.scalars(select(AuditEvent))]


def test_webhook_5xx_retries_with_backoff_then_dead_without_blocking_anything(rt, org, hooks):
    set_prefs(rt, org, "a_fin", {"email": False, "webhooks": [f"{hooks.base}/flaky"]})
    hooks.replies.extend([(503, b"busy")] * 20)
    notify(rt, org, ["a_fin"])
    delays = []
    for attempt in range(1, 9):
        run_worker(rt)
        [job] = jobs_of(rt, "notify.deliver")
        if attempt < 8:
            assert job.status == "queued"
            delays.append((job.run_after - rt.clock.now()).total_seconds())
            rt.clock.set(job.run_after + timedelta(seconds=1))
    assert delays == [10, 20, 40, 80, 160, 320, 640]  # exponential
    [d] = deliveries(rt)
    assert (d.status, d.attempts) == ("dead", 8) and "503" in d.last_error
    assert job.status == "failed" and len(hooks.received) == 8


# ----------------------------------------------------------------------------- SMTP down → up

def test_smtp_down_then_up_each_mail_arrives_exactly_once(rt, org, mailbox):
    notify(rt, org, ["a_fin", "a_fin2"], kind="warning_red", requires_ack=True)
    run_worker(rt)  # nothing is listening on the port
    ds = deliveries(rt)
    assert [d.status for d in ds] == ["pending", "pending"]
    assert all(d.attempts == 1 and "SMTP 127.0.0.1" in d.last_error for d in ds)
    rt.clock.advance(timedelta(seconds=11))
    run_worker(rt)  # still down: second attempt, longer backoff
    assert [d.attempts for d in deliveries(rt)] == [2, 2]
    mailbox.start()
    rt.clock.advance(timedelta(seconds=5))
    run_worker(rt)  # backing off: not yet
    assert mailbox.messages == []
    rt.clock.advance(timedelta(seconds=20))
    run_worker(rt)
    rt.clock.advance(timedelta(hours=3))
    run_worker(rt)
    got = mailbox.by_recipient()
    assert sorted(got) == ["a_fin2@example.test", "a_fin@example.test"]
    assert [len(v) for v in got.values()] == [1, 1]
    assert all(m["Subject"].startswith("【红色预警】") for ms in got.values() for m in ms)
    ds = deliveries(rt)
    assert [(d.status, d.attempts) for d in ds] == [("sent", 3), ("sent", 3)]
    # the Message-ID is the stable one of the idempotency key: a resend would carry the same
    from workers.channels import stable_message_id

    ids = {m["Message-ID"] for ms in got.values() for m in ms}
    assert ids == {stable_message_id(d.idempotency_key) for d in ds}


def test_a_delivery_already_sent_is_not_sent_again_when_its_job_reruns(rt, org, mailbox):
    mailbox.start()
    notify(rt, org, ["a_fin"])
    run_worker(rt)
    [job] = jobs_of(rt, "notify.deliver")
    with rt.sessions.begin() as s:  # as if a worker died after sending and recording, before finishing
        j = s.get(Job, job.id)
        j.status, j.run_after = "queued", rt.clock.now()
    run_worker(rt)
    assert len(mailbox.messages) == 1


# ---------------------------------------------------------------------------------------- digest

def test_daily_digest_one_mail_instead_of_one_per_notice_and_one_job_for_two_workers(rt, org, mailbox):
    mailbox.start()
    rt.clock.set(beijing_9("2025-01-31") - timedelta(hours=2))  # 07:00: before the digest hour (08:00)
    set_prefs(rt, org, "a_fin", {"email": True, "digest": True})
    notify(rt, org, ["a_fin", "a_fin2"], key="k1", subject="第一条")
    notify(rt, org, ["a_fin", "a_fin2"], kind="reminder", key="k2", subject="第二条")
    run_worker(rt)
    assert sorted(mailbox.by_recipient()) == ["a_fin2@example.test"]  # a_fin waits for the digest
    assert len(mailbox.by_recipient()["a_fin2@example.test"]) == 2
    rt.clock.set(beijing_9("2025-02-01"))
    w1, w2 = Worker(rt, "w1"), Worker(rt, "w2")
    assert w1.schedule_digests(force=True) == 1
    assert w2.schedule_digests(force=True) == 0  # deduplicated by digest:<user>:<date>
    [job] = jobs_of(rt, "notify.digest")
    assert job.dedupe_key == f"digest:{org['actors']['a_fin'].user_id}:2025-02-01"
    w2.tick()
    digest = mailbox.by_recipient()["a_fin@example.test"]
    assert len(digest) == 1
    assert digest[0]["Subject"] == "【每日汇总】2025-02-01 您有 2 条未读通知"
    text = digest[0].get_content()
    assert "第一条" in text and "第二条" in text
    rt.clock.advance(timedelta(hours=1))
    assert w1.schedule_digests(force=True) == 0  # once a day
    w1.tick()
    assert len(mailbox.by_recipient()["a_fin@example.test"]) == 1


# ------------------------------------------------------------------------ notices, preferences

def test_list_read_acknowledge_and_audit(rt, org):
    notify(rt, org, ["a_fin"], kind="warning_red", key="red", requires_ack=True)
    notify(rt, org, ["a_fin"], kind="reminder", key="rem")
    me, other = org["actors"]["a_fin"].user_id, org["actors"]["a_fin2"].user_id
    with rt.sessions.begin() as s:
        rows = notifications.list_notices(s, me)
        assert [n.kind for n in rows] == ["reminder", "warning_red"]
        assert notifications.unread_count(s, me) == 2
        red, rem = rows[1], rows[0]
        with pytest.raises(Conflict):
            notifications.acknowledge(s, rt.clock, me, rem.id, actor="a_fin")
        with pytest.raises(NotFound):
            notifications.acknowledge(s, rt.clock, other, red.id, actor="a_fin2")
        notifications.acknowledge(s, rt.clock, me, red.id, actor="a_fin")
        notifications.acknowledge(s, rt.clock, me, red.id, actor="a_fin")  # once is enough
        notifications.mark_read(s, rt.clock, me, rem.id)
    with rt.reads() as s:
        assert notifications.unread_count(s, me) == 0
        acks = [e for e in s.scalars(select(AuditEvent)) if e.action == "notice.acknowledged"]
        assert len(acks) == 1 and acks[0].actor == "a_fin"
        assert audit.verify(s).problems == []


def test_preferences_are_validated_with_clear_errors(rt, org):
    with pytest.raises(InvalidInput) as err:
        set_prefs(rt, org, "a_fin", {"email": "yes", "webhooks": ["ftp://x/y", {"url": "https://ok.test/h",
                                                                             "format": "telegram"}],
                                     "colour": "blue"})
    errors = err.value.render_errors("en")
    assert errors["email"] == ["Must be true or false."]
    assert "not an http(s) URL" in errors["webhooks.0"][0]
    assert "The format must be one of generic, wecom, dingtalk" in errors["webhooks.1"][0]
    assert "Unknown setting(s): colour" in errors["preferences"][0]
    assert err.value.render_errors("zh_CN")["email"] == ["必须为 true 或 false。"]
    prefs = set_prefs(rt, org, "a_fin", {"digest": True, "webhooks": [" https://hooks.test/a "]})
    assert prefs == {"email": True, "digest": True, "webhooks": ["https://hooks.test/a"]}
    with rt.reads() as s:
        assert s.get(User, org["actors"]["a_fin"].user_id).preferences["digest"] is True


def test_templates_of_the_repository_validate_and_a_typo_is_refused(tmp_path):
    assert notifications.validate_templates() == []
    for kind in notifications.KINDS:
        (tmp_path / f"{kind}.txt").write_text("【{{ kind_label }}】{{ subject }}\n{{ body }}\n", encoding="utf-8")
    (tmp_path / "reminder.txt").write_text("{{ subjcet }}\n正文\n", encoding="utf-8")
    (tmp_path / "admonition.txt").write_text("{{ subject.__class__.__mro__ }}\n", encoding="utf-8")
    (tmp_path / "report_due.txt").write_text("{% for %}\n", encoding="utf-8")
    (tmp_path / "supervision.txt").write_text("\n只有正文\n", encoding="utf-8")
    (tmp_path / "round_issued.txt").unlink()
    findings = {f["file"]: f["problem"] for f in notifications.validate_templates(tmp_path)}
    assert set(findings) == {"notifications/reminder.txt", "notifications/admonition.txt",
                             "notifications/report_due.txt", "notifications/supervision.txt",
                             "notifications/round_issued.txt"}
    assert "unknown variable(s) subjcet" in findings["notifications/reminder.txt"]
    assert "unsafe" in findings["notifications/admonition.txt"]
    assert "syntax error" in findings["notifications/report_due.txt"]
    assert "subject" in findings["notifications/supervision.txt"]
    assert "missing template" in findings["notifications/round_issued.txt"]


def test_a_kind_without_template_keeps_the_given_text(rt, org):
    notify(rt, org, ["a_fin"], kind="rectification_report", subject="原样标题", body="原样正文")
    with rt.reads() as s:
        n = s.scalar(select(Notice))
        assert (n.subject, n.body) == ("原样标题", "原样正文")


def test_job_backoff_is_exponential_and_capped():
    assert [jobs.backoff(a).total_seconds() for a in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert jobs.backoff(30).total_seconds() == jobs.BACKOFF_MAX_S

