"""Delivery channels against real servers on loopback: aiosmtpd for SMTP, http.server for webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from rectiflow.netpolicy import TargetPolicy
from workers.channels import (
    ChannelConfigError,
    DeliveryError,
    SmtpSettings,
    build_message,
    format_dingtalk,
    format_generic,
    format_wecom,
    parse_smtp_url,
    post_json,
    send_mail,
    sign_dingtalk_url,
    stable_message_id,
)

SUBJECT = "【黄色预警】整改措施即将到期"
TEXT = "张三同志：\n整改措施「完善财务审批制度」将于 2024-06-30 到期，请及时办理。\n"
HTML = "<p>张三同志：</p><p>整改措施「完善财务审批制度」将于 <b>2024-06-30</b> 到期。</p>"


# ----------------------------------------------------------------------- helpers


# The receivers here are on loopback: the strict default policy (rectiflow.netpolicy) would refuse them.
LOOPBACK = TargetPolicy(allow_loopback=True)

def _free_port() -> int:
    """A loopback port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _EphemeralController(Controller):
    """aiosmtpd Controller on port 0: learns the real port before its self-test connection."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class RecordingHandler:
    def __init__(self) -> None:
        self.envelopes: list = []
        self.rcpt_replies: dict[str, str] = {}  # address (or "*") -> reply to RCPT TO

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address) or self.rcpt_replies.get("*")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope, session.authenticated, session.auth_data))
        return "250 Message accepted for delivery"


class Authenticator:
    def __init__(self, login: str, password: str) -> None:
        self.expected = (login.encode(), password.encode())
        self.attempts: list[tuple[str, bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.attempts.append((mechanism, auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == self.expected
        # handled=False: aiosmtpd sends the 235 / 535 reply itself
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)


@pytest.fixture
def smtp_server():
    """Factory: start(**smtp_kwargs) -> (controller, handler); every server is stopped afterwards."""
    started: list[Controller] = []

    def start(*, ssl_context=None, **smtp_kwargs):
        handler = RecordingHandler()
        controller = _EphemeralController(
            handler, hostname="127.0.0.1", port=0, ssl_context=ssl_context, **smtp_kwargs
        )
        controller.start()
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """Self-signed certificate for 127.0.0.1 (made with the openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        # Debian machines (and CI) ship it; in CI a missing tool must fail, never pass as a skip.
        if os.environ.get("CI"):
            pytest.fail("openssl CLI not available: the TLS tests cannot run")
        pytest.skip("openssl CLI not available")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def server_tls(tls_files):
    cert, key = tls_files
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


@pytest.fixture
def client_tls(tls_files):
    return ssl.create_default_context(cafile=str(tls_files[0]))


def _message(to=(("张三", "zhangsan@example.cn"),), key="outbox-42", **overrides):
    kwargs = dict(
        sender="notify@rectiflow.example.cn",
        sender_name="巡察整改系统",
        to=list(to),
        subject=SUBJECT,
        text=TEXT,
        html=HTML,
        message_id=stable_message_id(key),
    )
    kwargs.update(overrides)
    return build_message(**kwargs)


# ------------------------------------------------------------------- SMTP: URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1", SmtpSettings("127.0.0.1", 25, "plain", None, None)),
        ("smtp://relay.example.cn:2525", SmtpSettings("relay.example.cn", 2525, "plain", None, None)),
        ("SMTP://Relay.Example.CN:25/", SmtpSettings("relay.example.cn", 25, "plain", None, None)),
        (
            "smtp+starttls://user:pass@mail.example.cn:587",
            SmtpSettings("mail.example.cn", 587, "starttls", "user", "pass"),
        ),
        ("smtp+starttls://mail.example.cn", SmtpSettings("mail.example.cn", 587, "starttls", None, None)),
        (
            "smtps://user:pass@mail.example.cn:465",
            SmtpSettings("mail.example.cn", 465, "ssl", "user", "pass"),
        ),
        ("smtps://mail.example.cn", SmtpSettings("mail.example.cn", 465, "ssl", None, None)),
        (
            "smtps://notify%40corp.cn:p%40ss%3Aw%2Fd%E8%AF%8D@mail.corp.cn",
            SmtpSettings("mail.corp.cn", 465, "ssl", "notify@corp.cn", "p@ss:w/d词"),
        ),
        ("smtp://[::1]:2525", SmtpSettings("::1", 2525, "plain", None, None)),
        ("smtp://127.0.0.1:25?timeout=2.5", SmtpSettings("127.0.0.1", 25, "plain", None, None, timeout=2.5)),
    ],
)
def test_parse_smtp_url(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("", "empty"),
        ("http://mail.example.cn", "unsupported scheme http://"),
        ("smtp+ssl://mail.example.cn", "unsupported scheme smtp\\+ssl://"),
        ("mail.example.cn", "unsupported scheme"),
        ("smtp://", "no host"),
        ("smtp://user:pw@:25", "no host"),
        ("smtp://mail.example.cn:abc", "port 'abc' is not a number"),
        ("smtp://mail.example.cn:0", "port 0 is out of range"),
        ("smtp://mail.example.cn:70000", "port 70000 is out of range"),
        ("smtp://mail.example.cn/inbox", "path"),
        ("smtp://mail.example.cn?tls=1", "unknown query parameter 'tls'"),
        ("smtp://mail.example.cn?timeout=soon", "timeout 'soon' is not a number"),
        ("smtp://user@mail.example.cn", "user name but no password"),
        ("smtp://:pw@mail.example.cn", "password but no user name"),
    ],
)
def test_parse_smtp_url_errors(url, match):
    with pytest.raises(ChannelConfigError, match=match):
        parse_smtp_url(url)


def test_parse_smtp_url_errors_and_repr_hide_the_password():
    with pytest.raises(ChannelConfigError) as excinfo:
        parse_smtp_url("smtps://user:TopSecret123@mail.example.cn:notaport")
    assert "TopSecret123" not in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert "TopSecret123" not in repr(parse_smtp_url("smtps://user:TopSecret123@mail.example.cn"))


# ---------------------------------------------------------------- SMTP: messages


def test_stable_message_id():
    first = stable_message_id("outbox-42")
    assert first == stable_message_id("outbox-42")
    assert first != stable_message_id("outbox-43")
    assert first == f"<{hashlib.sha256(b'outbox-42').hexdigest()[:32]}@rectiflow>"
    assert stable_message_id("k", domain="example.cn").endswith("@example.cn>")


def test_build_message_headers_are_encoded_and_body_is_7bit_clean():
    msg = _message(headers={"X-Rectiflow-Outbox": "42"})
    raw = msg.as_bytes()
    assert raw.isascii()  # RFC 2047 headers, base64 bodies: any relay will do
    assert b"=?utf-8?" in raw
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["X-Rectiflow-Outbox"] == "42"
    assert msg["Date"]

    text_only = _message(html=None)
    assert text_only.get_content_type() == "text/plain"
    assert text_only.get_content_charset() == "utf-8"


def test_build_message_rejects_bad_input():
    with pytest.raises(ChannelConfigError, match="no recipients"):
        _message(to=())
    with pytest.raises(ChannelConfigError, match="invalid e-mail address"):
        _message(to=(("张三", "not an address"),))
    with pytest.raises(ChannelConfigError, match="cannot be overridden"):
        _message(headers={"Subject": "other"})
    with pytest.raises(ChannelConfigError, match="Message-ID"):
        _message(message_id="no-brackets")


def test_build_message_flattens_line_breaks_in_subject():
    msg = _message(subject="整改\r\n提醒\nBcc: evil@example.com")
    assert msg["Subject"] == "整改 提醒 Bcc: evil@example.com"
    assert msg["Bcc"] is None


# --------------------------------------------------------------- SMTP: delivery


def test_send_chinese_mail_to_real_smtp_server(smtp_server):
    controller, handler = smtp_server()
    to = [("张三", "zhangsan@example.cn"), ("李四（纪检）", "lisi@example.cn")]
    message = _message(to=to, headers={"X-Rectiflow-Outbox": "42"})

    send_mail(parse_smtp_url(f"smtp://127.0.0.1:{controller.port}"), message)

    assert len(handler.envelopes) == 1
    envelope, authenticated, _ = handler.envelopes[0]
    assert not authenticated
    assert envelope.mail_from == "notify@rectiflow.example.cn"
    assert envelope.rcpt_tos == ["zhangsan@example.cn", "lisi@example.cn"]

    received = message_from_bytes(envelope.content, policy=default_policy)
    assert received["Subject"] == SUBJECT
    assert received["From"].addresses[0].display_name == "巡察整改系统"
    assert received["From"].addresses[0].addr_spec == "notify@rectiflow.example.cn"
    assert [(a.display_name, a.addr_spec) for a in received["To"].addresses] == to
    assert received["Message-ID"] == stable_message_id("outbox-42")
    assert received["X-Rectiflow-Outbox"] == "42"
    assert received["Date"].datetime is not None
    assert received.get_content_type() == "multipart/alternative"
    # text/* travels in canonical form (CRLF line ends)
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert received.get_body(("html",)).get_content().rstrip("\r\n") == HTML
    assert received.get_body(("plain",)).get_content_charset() == "utf-8"


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ("550 5.1.1 Mailbox unavailable", False),
        ("553 5.1.3 Bad recipient address syntax", False),
        ("451 4.3.0 Temporary failure, try again later", True),
        ("452 4.2.2 Mailbox full", True),
    ],
)
def test_rejected_recipient(smtp_server, reply, retryable):
    controller, handler = smtp_server()
    handler.rcpt_replies["*"] = reply

    with pytest.raises(DeliveryError) as excinfo:
        send_mail(parse_smtp_url(f"smtp://127.0.0.1:{controller.port}"), _message())

    assert excinfo.value.retryable is retryable
    assert reply.split()[0] in str(excinfo.value)
    assert "zhangsan@example.cn" in str(excinfo.value)
    assert handler.envelopes == []


def test_partially_rejected_recipients_raise(smtp_server):
    controller, handler = smtp_server()
    handler.rcpt_replies["lisi@example.cn"] = "550 5.1.1 No such user"
    to = [("张三", "zhangsan@example.cn"), ("李四", "lisi@example.cn")]

    with pytest.raises(DeliveryError, match="lisi@example.cn: 550") as excinfo:
        send_mail(parse_smtp_url(f"smtp://127.0.0.1:{controller.port}"), _message(to=to))

    assert excinfo.value.retryable is False
    # the accepted recipient did get the mail
    assert [env.rcpt_tos for env, _, _ in handler.envelopes] == [["zhangsan@example.cn"]]


def test_nothing_listening_is_retryable():
    port = _free_port()
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{port}") as excinfo:
        send_mail(parse_smtp_url(f"smtp://127.0.0.1:{port}"), _message())
    assert excinfo.value.retryable is True


def test_silent_server_times_out_retryably():
    with socket.socket() as listener:  # accepts connections (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        settings = SmtpSettings("127.0.0.1", port, "plain", None, None, timeout=0.3)
        with pytest.raises(DeliveryError) as excinfo:
            send_mail(settings, _message())
    assert excinfo.value.retryable is True


def test_auth_over_plain_with_credentials_from_url(smtp_server):
    password = "p@ss:词/1"
    authenticator = Authenticator("notify@corp.cn", password)
    controller, handler = smtp_server(authenticator=authenticator, auth_require_tls=False)
    url = f"smtp://notify%40corp.cn:{quote(password, safe='')}@127.0.0.1:{controller.port}"

    send_mail(parse_smtp_url(url), _message())

    assert [(login, pw) for _, login, pw in authenticator.attempts] == [
        (b"notify@corp.cn", password.encode())
    ]
    ((_, authenticated, auth_data),) = handler.envelopes
    assert authenticated is True
    assert auth_data == "notify@corp.cn"


@pytest.mark.parametrize("wrong", ["WrongSecret99", "错误密码WrongSecret99"])
def test_wrong_password_is_permanent_and_not_leaked(smtp_server, wrong):
    authenticator = Authenticator("notify", "right-password")
    controller, handler = smtp_server(authenticator=authenticator, auth_require_tls=False)
    settings = parse_smtp_url(f"smtp://notify:{quote(wrong, safe='')}@127.0.0.1:{controller.port}")

    with pytest.raises(DeliveryError) as excinfo:
        send_mail(settings, _message())

    error = excinfo.value
    assert error.retryable is False
    assert "535" in str(error)
    assert "WrongSecret99" not in str(error)
    assert "WrongSecret99" not in repr(error)
    assert [pw for _, _, pw in authenticator.attempts][:1] == [wrong.encode()]
    assert error.__cause__ is None and error.__suppress_context__
    assert handler.envelopes == []


def test_credentials_but_server_offers_no_auth(smtp_server):
    controller, _ = smtp_server()  # no authenticator: AUTH not advertised
    settings = parse_smtp_url(f"smtp://notify:Secret42@127.0.0.1:{controller.port}")
    with pytest.raises(DeliveryError) as excinfo:
        send_mail(settings, _message())
    assert excinfo.value.retryable is False
    assert "Secret42" not in str(excinfo.value)


def test_starttls_with_auth(smtp_server, server_tls, client_tls):
    authenticator = Authenticator("notify", "s3cret")
    controller, handler = smtp_server(tls_context=server_tls, authenticator=authenticator)  # AUTH needs TLS
    settings = parse_smtp_url(f"smtp+starttls://notify:s3cret@127.0.0.1:{controller.port}")

    send_mail(settings, _message(), ssl_context=client_tls)

    ((envelope, authenticated, _),) = handler.envelopes
    assert authenticated is True
    assert message_from_bytes(envelope.content, policy=default_policy)["Subject"] == SUBJECT


def test_starttls_required_but_not_offered_is_permanent(smtp_server, client_tls):
    controller, handler = smtp_server()
    settings = parse_smtp_url(f"smtp+starttls://127.0.0.1:{controller.port}")
    with pytest.raises(DeliveryError, match="STARTTLS") as excinfo:
        send_mail(settings, _message(), ssl_context=client_tls)
    assert excinfo.value.retryable is False
    assert handler.envelopes == []


def test_smtps(smtp_server, server_tls, client_tls):
    controller, handler = smtp_server(ssl_context=server_tls)
    send_mail(parse_smtp_url(f"smtps://127.0.0.1:{controller.port}"), _message(), ssl_context=client_tls)
    assert len(handler.envelopes) == 1


def test_smtps_untrusted_certificate_is_permanent(smtp_server, server_tls):
    controller, handler = smtp_server(ssl_context=server_tls)
    with pytest.raises(DeliveryError, match="certificate") as excinfo:
        send_mail(parse_smtp_url(f"smtps://127.0.0.1:{controller.port}"), _message())  # system CAs only
    assert excinfo.value.retryable is False
    assert handler.envelopes == []


# -------------------------------------------------------------- webhook formats


def test_format_generic():
    assert format_generic("标题", "正文", "https://rectiflow.example.cn/tasks/7", {"task_id": 7}) == {
        "title": "标题",
        "text": "正文",
        "url": "https://rectiflow.example.cn/tasks/7",
        "data": {"task_id": 7},
    }
    assert format_generic("t", "x", None, {})["url"] is None


def test_format_wecom():
    payload = format_wecom(SUBJECT, "请及时办理。", "https://rectiflow.example.cn/tasks/7")
    assert payload == {
        "msgtype": "markdown",
        "markdown": {
            "content": f"**{SUBJECT}**\n请及时办理。\n[查看详情](https://rectiflow.example.cn/tasks/7)"
        },
    }
    assert format_wecom("标题", "正文", None)["markdown"]["content"] == "**标题**\n正文"


def test_format_wecom_stays_within_4096_bytes():
    content = format_wecom("标题", "整改" * 3000, "https://x.example/1")["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.startswith("**标题**\n整改")
    assert content.endswith("…\n[查看详情](https://x.example/1)")


def test_format_dingtalk():
    payload = format_dingtalk(
        SUBJECT, "请及时办理。", "https://rectiflow.example.cn/tasks/7", ["13800000000"]
    )
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"] == SUBJECT
    text = payload["markdown"]["text"]
    assert text.startswith(f"### {SUBJECT}\n\n请及时办理。")
    assert "[查看详情](https://rectiflow.example.cn/tasks/7)" in text
    assert text.endswith("@13800000000")  # DingTalk only highlights mentions that appear in the text
    assert payload["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    assert format_dingtalk("t", "x", None)["at"] == {"atMobiles": [], "isAtAll": False}


def test_sign_dingtalk_url():
    secret = "SEC0123456789abcdef"
    timestamp = 1718000000123
    base = "https://oapi.dingtalk.com/robot/send?access_token=abc"

    signed = sign_dingtalk_url(base, secret, timestamp)

    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    expected_sign = base64.b64encode(mac).decode()
    assert signed.startswith(base + "&timestamp=1718000000123&sign=")
    query = parse_qs(urlsplit(signed).query, strict_parsing=True)
    assert query == {"access_token": ["abc"], "timestamp": [str(timestamp)], "sign": [expected_sign]}
    # "+", "/" and "=" from base64 are percent-encoded
    assert "sign=" + quote(expected_sign, safe="") in signed

    assert sign_dingtalk_url("https://x.example/hook", secret, timestamp).startswith(
        "https://x.example/hook?timestamp="
    )


# ---------------------------------------------------------------- webhook: HTTP


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins handler threads: nothing outlives the test

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.reply: tuple[int, dict[str, str], bytes] = (200, {}, b"")
        self.stall = False
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        if self.server.stall:
            self.server.release.wait(10)
            return
        status, headers, payload = self.server.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def http_server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def _json_reply(data) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()


def test_post_generic_payload(http_server):
    payload = format_generic(SUBJECT, TEXT, "https://rectiflow.example.cn/tasks/7", {"task_id": 7})

    post_json(http_server.url + "/hooks/rectiflow", payload, idempotency_key="outbox-42", policy=LOOPBACK)

    (request,) = http_server.requests
    assert request["path"] == "/hooks/rectiflow"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["headers"]["Idempotency-Key"] == "outbox-42"
    assert json.loads(request["body"].decode("utf-8")) == payload
    assert SUBJECT.encode("utf-8") in request["body"]  # ensure_ascii=False: real UTF-8, no \u escapes


def test_post_wecom_payload(http_server):
    http_server.reply = _json_reply({"errcode": 0, "errmsg": "ok"})
    payload = format_wecom(SUBJECT, "请及时办理。", "https://rectiflow.example.cn/tasks/7")

    post_json(http_server.url + "/cgi-bin/webhook/send?key=abc", payload, idempotency_key="outbox-43", policy=LOOPBACK)

    (request,) = http_server.requests
    assert request["path"] == "/cgi-bin/webhook/send?key=abc"
    assert request["headers"]["Idempotency-Key"] == "outbox-43"
    body = json.loads(request["body"].decode("utf-8"))
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"].startswith(f"**{SUBJECT}**\n")


def test_post_signed_dingtalk_payload(http_server):
    http_server.reply = _json_reply({"errcode": 0, "errmsg": "ok"})
    url = sign_dingtalk_url(http_server.url + "/robot/send?access_token=tok", "SECxyz", 1718000000000)
    payload = format_dingtalk(SUBJECT, "请及时办理。", None, ["13800000000"])

    post_json(url, payload, idempotency_key="outbox-44", policy=LOOPBACK)

    (request,) = http_server.requests
    query = parse_qs(urlsplit(request["path"]).query)
    assert query["access_token"] == ["tok"] and query["timestamp"] == ["1718000000000"]
    mac = hmac.new(b"SECxyz", b"1718000000000\nSECxyz", hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(mac).decode()]
    assert json.loads(request["body"].decode("utf-8")) == payload


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ((500, {}, b"internal error"), True),
        ((502, {}, b""), True),
        ((503, {"Retry-After": "30"}, b""), True),
        ((429, {"Retry-After": "7"}, b"slow down"), True),
        ((400, {}, b'{"error": "bad payload"}'), False),
        ((401, {}, b""), False),
        ((404, {}, b"not found"), False),
        ((302, {"Location": "http://127.0.0.1:1/elsewhere"}, b""), False),
        (_json_reply({"errcode": 45009, "errmsg": "api freq out of limit"}), True),
        (_json_reply({"errcode": 130101, "errmsg": "send too fast"}), True),
        (_json_reply({"errcode": 93000, "errmsg": "invalid webhook url"}), False),
        (_json_reply({"errcode": 310000, "errmsg": "sign not match"}), False),
    ],
)
def test_post_failures(http_server, reply, retryable):
    http_server.reply = reply
    with pytest.raises(DeliveryError) as excinfo:
        post_json(http_server.url + "/hook?key=SECRETKEY", {"a": 1}, idempotency_key="k1", policy=LOOPBACK)
    assert excinfo.value.retryable is retryable
    assert "SECRETKEY" not in str(excinfo.value)  # tokens in the query string stay out of logs
    assert len(http_server.requests) == 1  # redirects are not followed
    if "Retry-After" in reply[1]:
        assert excinfo.value.retry_after == float(reply[1]["Retry-After"])


@pytest.mark.parametrize(
    "reply",
    [
        _json_reply({"errcode": 0, "errmsg": "ok"}),
        _json_reply({"errcode": "0"}),
        _json_reply({"status": "accepted"}),
        (200, {"Content-Type": "text/plain"}, b"OK"),
        (202, {}, b""),
        (204, {}, b""),
    ],
)
def test_post_success_replies(http_server, reply):
    http_server.reply = reply
    post_json(http_server.url + "/hook", {"a": 1}, idempotency_key="k2", policy=LOOPBACK)
    assert len(http_server.requests) == 1


def test_post_connection_refused_is_retryable():
    with pytest.raises(DeliveryError) as excinfo:
        post_json(f"http://127.0.0.1:{_free_port()}/hook", {"a": 1}, idempotency_key="k3", policy=LOOPBACK)
    assert excinfo.value.retryable is True


def test_post_timeout_is_retryable(http_server):
    http_server.stall = True
    with pytest.raises(DeliveryError, match="timed out") as excinfo:
        post_json(http_server.url + "/hook", {"a": 1}, idempotency_key="k4", timeout=0.3, policy=LOOPBACK)
    assert excinfo.value.retryable is True


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.cn/hook",
        "gopher://example.cn/",
        "example.cn/hook",
        "",
        "http://",
        "http://example.cn:notaport/hook",
        "http://example.cn/hook with space",
    ],
)
def test_post_rejects_non_http_urls(url):
    with pytest.raises(ChannelConfigError):
        post_json(url, {"a": 1}, idempotency_key="k5", policy=LOOPBACK)


@pytest.mark.parametrize("key", ["", "整改-1", "k\r\nX-Injected: 1"])
def test_post_rejects_bad_idempotency_keys(http_server, key):
    with pytest.raises(ChannelConfigError):
        post_json(http_server.url + "/hook", {"a": 1}, idempotency_key=key, policy=LOOPBACK)
    assert http_server.requests == []


def test_post_rejects_unserialisable_payload(http_server):
    with pytest.raises(ChannelConfigError, match="JSON"):
        post_json(http_server.url + "/hook", {"when": object()}, idempotency_key="k6", policy=LOOPBACK)
    assert http_server.requests == []
