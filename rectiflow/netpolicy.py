"""Where the server may send a webhook (issue 15: webhooks reached internal addresses).

A webhook URL is typed by a user, and the server then POSTs to it from inside the network: without a
policy that is a way to reach the metadata service, the database port or an intranet system. The rules:

* the host must be on the administrator's allowlist (``RECTIFLOW_WEBHOOK_ALLOWED_HOSTS``: exact names,
  ``.example.com`` or ``*.example.com`` for subdomains, ``*`` for any public host);
* every address the host resolves to must be public: loopback (unless
  ``RECTIFLOW_WEBHOOK_ALLOW_LOOPBACK=1``: tests, single-machine installs), private (unless
  ``RECTIFLOW_WEBHOOK_ALLOW_PRIVATE=1``), link-local (the cloud metadata address), multicast, reserved and
  unspecified addresses are refused.

``host_problem`` is the check when a target is saved (no DNS: the name and literal addresses);
``resolve_checked`` runs at send time, and the sender connects to the address it returned, so a name
that resolves elsewhere between check and connect (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from rectiflow.i18n import N_, Message

DEFAULT_ALLOWED_HOSTS = ("qyapi.weixin.qq.com", "oapi.dingtalk.com")  # the WeCom and DingTalk robot APIs
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The target is not allowed; ``problem`` says why (a Message, rendered by the caller)."""

    def __init__(self, problem: Message) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class TargetPolicy:
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allow_loopback: bool = False
    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> TargetPolicy:
        return cls(tuple(settings.webhook_allowed_hosts), settings.webhook_allow_loopback,
                   settings.webhook_allow_private)

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for entry in self.allowed_hosts:
            if entry == "*" or entry == host:
                return True
            suffix = entry[1:] if entry.startswith("*.") else entry if entry.startswith(".") else None
            if suffix and host.endswith(suffix) and len(host) > len(suffix):
                return True
        return False


def _literal(host: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def address_problem(policy: TargetPolicy, ip: IPAddress) -> Message | None:
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    if ip.is_loopback:  # before "reserved": ::1 lies in the reserved ::/8
        return None if policy.allow_loopback else Message(
            N_("%(address)s is a loopback address: webhooks may not reach this server itself."), address=str(ip))
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return Message(N_("%(address)s is not an address a webhook may be sent to."), address=str(ip))
    if ip.is_link_local:
        return Message(N_("%(address)s is a link-local address: webhooks may not reach it."), address=str(ip))
    if ip.is_private:
        return None if policy.allow_private else Message(
            N_("%(address)s is a private network address: webhooks may not reach the internal network."),
            address=str(ip))
    if not ip.is_global:
        return Message(N_("%(address)s is not a public address."), address=str(ip))
    return None


def _is_loopback_name(host: str) -> bool:
    ip = _literal(host)
    return host.lower().rstrip(".") == "localhost" or (ip is not None and ip.is_loopback)


def host_problem(policy: TargetPolicy, host: str) -> Message | None:
    """The save-time check of a target's host (no DNS lookup)."""
    host = (host or "").lower().rstrip(".")
    if not host:
        return Message(N_("The URL has no host name."))
    if policy.allow_loopback and _is_loopback_name(host):
        return None  # tests and single-machine installs talk to a receiver on this machine
    ip = _literal(host)
    if ip is not None:
        problem = address_problem(policy, ip)
        if problem is not None:
            return problem
    elif host == "localhost" or host.endswith(".localhost"):
        return Message(N_("%(address)s is a loopback address: webhooks may not reach this server itself."),
                       address=host)
    if not policy.host_allowed(host):
        return Message(N_("%(host)s is not on the administrator's list of webhook hosts "
                          "(RECTIFLOW_WEBHOOK_ALLOWED_HOSTS)."), host=host)
    return None


def resolve_checked(policy: TargetPolicy, host: str, port: int) -> str:
    """The address to connect to: every address ``host`` resolves to must be allowed (a mix of public
    and private answers is refused as a whole). Raises ``TargetRefused``; a failed lookup is OSError."""
    problem = host_problem(policy, host)
    if problem is not None:
        raise TargetRefused(problem)
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise OSError(f"{host} has no address")
    for ip in addresses:
        problem = address_problem(policy, ip)
        if problem is not None:
            raise TargetRefused(problem)
    return str(addresses[0])
