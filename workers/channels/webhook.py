"""Webhook channel: payload formats (generic, WeCom, DingTalk) and an HTTP POST (stdlib only).

Webhook URLs frequently carry secrets (WeCom ``key=``, DingTalk
``access_token=``), so error messages show only scheme, host and path.

Every POST first passes the target policy (``rectiflow.netpolicy``): the host must be allowed and every
address it resolves to must be public (loopback only when the policy allows it, as the tests do). The
connection then goes to the very address that was checked, and redirects are never followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit

from rectiflow.netpolicy import TargetPolicy, TargetRefused, resolve_checked

from . import ChannelConfigError, DeliveryError

DEFAULT_LINK_TEXT = "查看详情"

# WeCom group robot: markdown content is limited to 4096 bytes (UTF-8).
WECOM_MARKDOWN_MAX_BYTES = 4096

# Robot ``errcode`` values meaning "too many requests, try later".
#   WeCom 45009: api freq out of limit; WeCom -1: system busy.
#   DingTalk 130101: send too fast, exceed 20 times per minute.
RATE_LIMIT_ERRCODES = frozenset({45009, 130101, -1})

_MAX_RESPONSE_BYTES = 1 << 20
_USER_AGENT = "rectiflow-notifier/1"


# ---------------------------------------------------------------------- formats


def format_generic(title: str, text: str, url: str | None, extra: Mapping[str, Any] | None = None) -> dict:
    """Generic JSON payload: ``{"title", "text", "url", "data"}``."""
    return {"title": title, "text": text, "url": url, "data": dict(extra or {})}


def _truncate_utf8(value: str, max_bytes: int, ellipsis: str = "…") -> str:
    if len(value.encode("utf-8")) <= max_bytes:
        return value
    budget = max_bytes - len(ellipsis.encode("utf-8"))
    if budget <= 0:
        return ""
    cut = value.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return cut + ellipsis


def format_wecom(title: str, text: str, url: str | None, *, link_text: str = DEFAULT_LINK_TEXT) -> dict:
    """WeCom (企业微信) group robot markdown message.

    ``**title**`` on the first line, then *text*, then ``[查看详情](url)`` if
    *url*.  The body is shortened (with "…") so the content stays within
    WeCom's 4096-byte limit; title and link are kept.
    """
    head = f"**{title}**\n"
    tail = f"\n[{link_text}]({url})" if url else ""
    budget = WECOM_MARKDOWN_MAX_BYTES - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    content = head + _truncate_utf8(text, max(budget, 0)) + tail
    return {"msgtype": "markdown", "markdown": {"content": content}}


def format_dingtalk(
    title: str,
    text: str,
    url: str | None,
    at_mobiles: Sequence[str] = (),
    *,
    link_text: str = DEFAULT_LINK_TEXT,
) -> dict:
    """DingTalk (钉钉) custom robot markdown message.

    ``markdown.title`` is what the notification preview shows; the text
    starts with ``### title``.  DingTalk only highlights an @mention when the
    mobile number also appears in the text, so ``@<mobile>`` is appended.
    """
    body = f"### {title}\n\n{text}"
    if url:
        body += f"\n\n[{link_text}]({url})"
    mobiles = [str(m) for m in at_mobiles]
    if mobiles:
        body += "\n\n" + " ".join(f"@{m}" for m in mobiles)
    return {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": body},
        "at": {"atMobiles": mobiles, "isAtAll": False},
    }


def sign_dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """Append DingTalk's ``timestamp`` and ``sign`` parameters ("加签" security setting).

    sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))).
    The timestamp must be within an hour of DingTalk's clock, so sign at send time.
    """
    string_to_sign = f"{timestamp_ms}\n{secret}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest))
    sep = "" if url.endswith(("?", "&")) else ("&" if urlsplit(url).query else "?")
    return f"{url}{sep}timestamp={timestamp_ms}&sign={sign}"


def sign_dingtalk_url_now(url: str, secret: str) -> str:
    """:func:`sign_dingtalk_url` with the real wall time (DingTalk checks it against its own clock,
    so the virtual business clock must not be used here)."""
    return sign_dingtalk_url(url, secret, int(time.time() * 1000))


# ------------------------------------------------------------------------- POST


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Do not follow redirects: urllib would turn the POST into a body-less GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _pinned(connection_class: type[http.client.HTTPConnection], address: str) -> Any:
    """A connection class that connects to ``address`` (already checked) whatever the host name says;
    the Host header and TLS SNI/certificate check still use the name."""

    def factory(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = connection_class(host, **kwargs)
        conn._create_connection = lambda addr, *a, **k: socket.create_connection((address, addr[1]), *a, **k)  # type: ignore[attr-defined]
        return conn

    return factory


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: Any) -> Any:
        return self.do_open(_pinned(http.client.HTTPConnection, self.address), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: str, context: ssl.SSLContext | None = None) -> None:
        super().__init__(context=context)
        self.address = address

    def https_open(self, req: Any) -> Any:
        return self.do_open(_pinned(http.client.HTTPSConnection, self.address), req,
                            context=self._context)  # type: ignore[attr-defined]


def _checked_address(url: str, policy: TargetPolicy) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        return resolve_checked(policy, parts.hostname or "", port)
    except TargetRefused as exc:
        raise ChannelConfigError(f"webhook {_safe_url(url)}: target refused: {exc}") from None
    except OSError as exc:  # the name does not resolve (now): worth another try later
        raise DeliveryError(f"webhook {_safe_url(url)}: cannot resolve the host: {exc}", retryable=True) from None


def _safe_url(url: str) -> str:
    """scheme://host[:port]/path -- no user info, query or fragment (they hold tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _check_url(url: str) -> None:
    if not isinstance(url, str) or not url.strip():
        raise ChannelConfigError("webhook URL is empty")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- validates the port
    except ValueError as exc:
        raise ChannelConfigError(f"webhook URL is malformed: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ChannelConfigError(
            f"webhook URL scheme {parts.scheme + '://' if parts.scheme else '(none)'} is not allowed; "
            "only http:// and https://"
        )
    if not parts.hostname:
        raise ChannelConfigError("webhook URL has no host name")
    if any(ch in url for ch in "\r\n\t ") or not url.isascii():
        raise ChannelConfigError(
            "webhook URL contains whitespace or non-ASCII characters; percent-encode them"
        )


def _check_header_value(name: str, value: str) -> None:
    if not value or not value.isascii() or not value.isprintable():
        raise ChannelConfigError(f"{name} must be non-empty printable ASCII")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body[: limit * 4].decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "…"


def post_json(
    url: str,
    payload: dict,
    *,
    idempotency_key: str,
    timeout: float = 10,
    headers: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    policy: TargetPolicy | None = None,
) -> None:
    """POST *payload* as UTF-8 JSON with an ``Idempotency-Key`` header, to a target the *policy*
    allows (default: the strict one, public addresses of the default hosts only).

    Raises :class:`ChannelConfigError` for a non-http(s) URL, a target the policy
    refuses or an unusable key/payload, and :class:`DeliveryError` when delivery fails:

    * retryable: connection errors, timeouts, HTTP 5xx and 429 (``retry_after``
      from ``Retry-After``), robot rate limits (``errcode`` 45009 / 130101 / -1);
    * not retryable: other HTTP 4xx, redirects (configure the final URL),
      TLS certificate failures, a 2xx JSON reply whose ``errcode`` is non-zero
      (WeCom/DingTalk report errors this way with HTTP 200).
    """
    _check_url(url)
    _check_header_value("idempotency_key", idempotency_key)
    address = _checked_address(url, policy or TargetPolicy())
    try:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ChannelConfigError(f"webhook payload is not JSON-serialisable: {exc}") from None

    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 -- scheme checked above
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("Accept", "application/json")
    request.add_header("User-Agent", _USER_AGENT)
    request.add_header("Idempotency-Key", idempotency_key)
    for name, value in (headers or {}).items():
        _check_header_value(f"header {name!r}", value)
        request.add_header(name, value)

    handlers: list[urllib.request.BaseHandler] = [
        _NoRedirect(), _PinnedHTTPHandler(address), _PinnedHTTPSHandler(address, ssl_context)]
    opener = urllib.request.build_opener(*handlers)
    where = f"webhook {_safe_url(url)}"

    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            reply = response.read(_MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        with exc:
            try:
                error_body = exc.read(_MAX_RESPONSE_BYTES)
            except (OSError, http.client.HTTPException):
                error_body = b""
            retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        code = exc.code
        detail = f"HTTP {code}"
        if 300 <= code < 400:
            raise DeliveryError(
                f"{where}: redirected ({detail}); configure the final URL", retryable=False
            ) from None
        if error_body:
            detail += f": {_snippet(error_body)}"
        retryable = code == 429 or code >= 500
        raise DeliveryError(f"{where}: {detail}", retryable=retryable, retry_after=retry_after) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise DeliveryError(
                f"{where}: TLS certificate verification failed: {reason.verify_message or reason}",
                retryable=False,
            ) from exc
        if isinstance(reason, TimeoutError):
            raise DeliveryError(f"{where}: timed out after {timeout:g}s", retryable=True) from exc
        raise DeliveryError(f"{where}: {type(reason).__name__}: {reason}", retryable=True) from exc
    except TimeoutError as exc:
        raise DeliveryError(f"{where}: timed out after {timeout:g}s", retryable=True) from exc
    except (OSError, http.client.HTTPException) as exc:  # reset, remote disconnected, bad status line
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from exc

    _check_errcode(where, status, reply)


def _check_errcode(where: str, status: int, reply: bytes) -> None:
    """WeCom/DingTalk answer HTTP 200 with ``{"errcode": N, "errmsg": ...}``; N != 0 is a failure."""
    if not reply.strip():
        return
    try:
        data = json.loads(reply.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return  # not JSON: a generic receiver's 2xx means accepted
    if not isinstance(data, dict) or "errcode" not in data:
        return
    raw = data["errcode"]
    try:
        errcode = int(raw)
    except (TypeError, ValueError):
        raise DeliveryError(
            f"{where}: HTTP {status} with unrecognised errcode {raw!r}", retryable=False
        ) from None
    if errcode == 0:
        return
    errmsg = str(data.get("errmsg") or "")[:200]
    raise DeliveryError(
        f"{where}: errcode {errcode}" + (f": {errmsg}" if errmsg else ""),
        retryable=errcode in RATE_LIMIT_ERRCODES,
    )
