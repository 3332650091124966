"""Issue 15, fault 10: webhooks reached internal addresses. Targets are checked against the
administrator's allowlist; private, loopback and link-local addresses are refused by default (a setting
allows loopback); redirects are not followed; the resolved address is checked at send time and is the
one connected to."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from rectiflow import netpolicy
from rectiflow.config import load_settings
from rectiflow.netpolicy import TargetPolicy, host_problem
from tests.web.conftest import login, post
from workers.channels import ChannelConfigError, DeliveryError, post_json

STRICT = TargetPolicy()


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, status: int = 200, location: str = "") -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append({"host": self.headers["Host"], "json": json.loads(body)})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("host, kind", [
    ("127.0.0.1", "loopback"), ("localhost", "loopback"), ("[::1]", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.0.0.5", "private network"), ("192.168.1.20", "private network"), ("172.16.3.4", "private network"),
    ("169.254.169.254", "link-local"), ("0.0.0.0", "not an address"), ("evil.example", "list of webhook hosts"),
])
def test_the_strict_policy_refuses_internal_and_unlisted_hosts(host, kind):
    problem = host_problem(STRICT, host)
    assert problem is not None and kind in str(problem), (host, str(problem))


def test_the_allowlist_admits_listed_hosts_and_subdomains_only():
    assert host_problem(STRICT, "qyapi.weixin.qq.com") is None
    corp = TargetPolicy(allowed_hosts=(".corp.example", "hooks.partner.example"))
    assert host_problem(corp, "oa.corp.example") is None and host_problem(corp, "HOOKS.partner.example.") is None
    assert host_problem(corp, "corp.example") is not None and host_problem(corp, "evilcorp.example") is not None
    anywhere = TargetPolicy(allowed_hosts=("*",))
    assert host_problem(anywhere, "any.example") is None
    assert host_problem(anywhere, "10.1.2.3") is not None  # "*" is any *public* host
    assert host_problem(TargetPolicy(allowed_hosts=("*",), allow_private=True), "10.1.2.3") is None


def test_the_settings_carry_the_policy():
    s = load_settings({"RECTIFLOW_WEBHOOK_ALLOWED_HOSTS": "hooks.corp.example, .partner.example",
                       "RECTIFLOW_WEBHOOK_ALLOW_LOOPBACK": "1"}, secret_key="x")
    assert TargetPolicy.from_settings(s) == TargetPolicy(("hooks.corp.example", ".partner.example"), True, False)
    assert TargetPolicy.from_settings(load_settings({}, secret_key="x")) == STRICT


def test_sending_to_loopback_is_refused_unless_allowed(receiver):
    url = f"http://127.0.0.1:{receiver.port}/hook"
    with pytest.raises(ChannelConfigError, match="loopback"):
        post_json(url, {"a": 1}, idempotency_key="k1")  # the default policy is the strict one
    assert receiver.received == []
    post_json(url, {"a": 1}, idempotency_key="k1", policy=TargetPolicy(allow_loopback=True))
    assert [r["json"] for r in receiver.received] == [{"a": 1}]


def test_a_name_is_checked_by_what_it_resolves_to_at_send_time(receiver):
    """``localhost`` on an allow-everything list still resolves to loopback: refused when sending."""
    with pytest.raises(ChannelConfigError, match="loopback"):
        post_json(f"http://localhost:{receiver.port}/hook", {"a": 1}, idempotency_key="k2",
                  policy=TargetPolicy(allowed_hosts=("*",)))
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address(receiver, monkeypatch):
    """A name resolving to an allowed address is connected to at that address (no second lookup for a
    rebinding DNS server to answer differently), with the name kept in the Host header."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def fake_dns(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        if host != "hooks.corp.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(netpolicy.socket, "getaddrinfo", fake_dns)
    policy = TargetPolicy(allowed_hosts=("hooks.corp.example",), allow_loopback=True)
    post_json(f"http://hooks.corp.example:{receiver.port}/hook", {"b": 2}, idempotency_key="k3", policy=policy)
    assert lookups == ["hooks.corp.example", "127.0.0.1"]  # the name once, then the checked address itself
    assert receiver.received == [{"host": f"hooks.corp.example:{receiver.port}", "json": {"b": 2}}]


def test_a_name_with_one_private_answer_is_refused_whole(monkeypatch):
    monkeypatch.setattr(netpolicy.socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))])
    with pytest.raises(ChannelConfigError, match="private network"):
        post_json("https://hooks.corp.example/hook", {"c": 3}, idempotency_key="k4",
                  policy=TargetPolicy(allowed_hosts=("hooks.corp.example",)))


def test_a_redirect_to_the_metadata_service_is_not_followed():
    server = Receiver(status=302, location="http://169.254.169.254/latest/meta-data/")
    try:
        with pytest.raises(DeliveryError, match="redirected") as caught:
            post_json(f"http://127.0.0.1:{server.port}/hook", {"d": 4}, idempotency_key="k5",
                      policy=TargetPolicy(allow_loopback=True))
        assert not caught.value.retryable and len(server.received) == 1
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("line, finding", [
    ("http://127.0.0.1:9/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("wecom http://10.0.0.8/cgi-bin/webhook/send?key=k", "10.0.0.8"),
    ("https://evil.example/collect", "evil.example"),
])
def test_saving_an_internal_or_unlisted_target_is_refused(rt, org, client, line, finding):
    login(client, "a_fin", locale="en")
    resp = post(client, "/preferences/", {"webhooks": line}, token_from="/preferences/")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "webhooks.0" in page and finding in page
    with rt.reads() as s:
        from rectiflow.db.org import User

        assert not (s.get(User, org["actors"]["a_fin"].user_id).preferences or {}).get("webhooks")


def test_saving_an_allowed_robot_target_works(rt, org, client):
    login(client, "a_fin")
    resp = post(client, "/preferences/", {"webhooks": "wecom https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
                token_from="/preferences/")
    assert resp.status_code == 302
