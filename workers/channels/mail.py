"""E-mail channel: SMTP URL parsing, message building and sending (stdlib only).

Connection settings come from a URL::

    smtp://relay.example.cn            plain SMTP, port 25
    smtp+starttls://user:pass@host:587 STARTTLS (mandatory, never downgraded)
    smtps://user:pass@host:465         implicit TLS

User name and password are percent-decoded (``%40`` for ``@``, ``%3A`` for
``:``, ...).  An optional ``?timeout=<seconds>`` query parameter sets the
socket timeout (default 10 s).
"""

from __future__ import annotations

import base64
import contextlib
import email.policy
import email.utils
import hashlib
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from . import ChannelConfigError, DeliveryError

Security = Literal["plain", "starttls", "ssl"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("ssl", 465),
}

# Headers build_message() sets itself; callers may not override them via ``headers``.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    username: str | None
    password: str | None = field(repr=False)  # keep secrets out of logs
    timeout: float = 10


# --------------------------------------------------------------------------- URL


def parse_smtp_url(url: str) -> SmtpSettings:
    """Parse ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URLs into :class:`SmtpSettings`.

    Raises :class:`ChannelConfigError` naming the offending part.  Error
    messages never repeat the URL (it may hold a password).
    """
    if not isinstance(url, str) or not url.strip():
        raise ChannelConfigError("SMTP URL is empty")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. unbalanced "[" in an IPv6 host
        raise ChannelConfigError(f"SMTP URL is malformed: {exc}") from None

    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ChannelConfigError(
            f"SMTP URL has unsupported scheme {scheme + '://' if scheme else '(none)'}; "
            "expected smtp://, smtp+starttls:// or smtps://"
        )
    security, default_port = _SCHEMES[scheme]

    host = parts.hostname
    if not host:
        raise ChannelConfigError("SMTP URL has no host name")

    port = _parse_port(parts.netloc, default_port)

    if parts.path not in ("", "/"):
        raise ChannelConfigError(f"SMTP URL must not have a path (got {parts.path!r})")
    if parts.fragment:
        raise ChannelConfigError("SMTP URL must not have a fragment")
    timeout = 10.0
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key != "timeout":
            raise ChannelConfigError(f"SMTP URL has unknown query parameter {key!r} (only 'timeout')")
        try:
            timeout = float(value)
        except ValueError:
            raise ChannelConfigError(f"SMTP URL timeout {value!r} is not a number") from None
        if not 0 < timeout < 3600:
            raise ChannelConfigError(f"SMTP URL timeout {value!r} must be between 0 and 3600 seconds")

    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is not None or password is not None:
        if not username:
            raise ChannelConfigError("SMTP URL has a password but no user name")
        if password is None:
            raise ChannelConfigError("SMTP URL has a user name but no password")

    return SmtpSettings(
        host=host, port=port, security=security, username=username, password=password, timeout=timeout
    )


def _parse_port(netloc: str, default: int) -> int:
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # [IPv6]:port
        port_text = hostport.partition("]")[2]
        port_text = port_text[1:] if port_text.startswith(":") else port_text
    else:
        port_text = hostport.partition(":")[2]
    if port_text == "":
        return default
    if not port_text.isascii() or not port_text.isdigit():
        raise ChannelConfigError(f"SMTP URL port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ChannelConfigError(f"SMTP URL port {port} is out of range (1-65535)")
    return port


# ---------------------------------------------------------------------- message


def stable_message_id(idempotency_key: str, domain: str = "rectiflow") -> str:
    """A Message-ID derived from the outbox idempotency key, identical on every retry."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _one_line(value: str) -> str:
    # Task titles may contain line breaks; a header must not.
    return re.sub(r"\s*[\r\n]+\s*", " ", value).strip()


def _address(display_name: str, addr: str) -> Address:
    try:
        return Address(display_name=_one_line(display_name or ""), addr_spec=addr.strip())
    except (ValueError, HeaderParseError, IndexError) as exc:
        raise ChannelConfigError(f"invalid e-mail address {addr!r}: {exc}") from None


def build_message(
    *,
    sender: str,
    sender_name: str,
    to: list[tuple[str, str]],
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """Build a UTF-8 message (``multipart/alternative`` when *html* is given).

    *to* holds ``(display name, address)`` pairs.  Non-ASCII display names and
    the subject are RFC 2047-encoded; non-ASCII bodies are base64 so the
    message is 7-bit clean for any relay.  *headers* adds extra headers (e.g.
    ``X-Rectiflow-Notification``); it may not override the ones set here.
    """
    if not to:
        raise ChannelConfigError("e-mail has no recipients")
    message_id = message_id.strip()
    if not (message_id.startswith("<") and message_id.endswith(">") and "@" in message_id):
        raise ChannelConfigError(f"Message-ID {message_id!r} must look like <id@domain>")

    msg = EmailMessage(policy=email.policy.SMTP)
    try:
        msg["From"] = _address(sender_name, sender)
        msg["To"] = [_address(name, addr) for name, addr in to]
        msg["Subject"] = _one_line(subject)
        msg["Date"] = email.utils.formatdate(localtime=True)
        msg["Message-ID"] = message_id
        for name, value in (headers or {}).items():
            if name.strip().lower() in _RESERVED_HEADERS:
                raise ChannelConfigError(f"header {name!r} is set by build_message and cannot be overridden")
            msg[name] = value
    except ChannelConfigError:
        raise
    except (ValueError, HeaderParseError) as exc:
        raise ChannelConfigError(f"invalid e-mail header: {exc}") from None

    msg.set_content(text, subtype="plain", charset="utf-8", cte=None if text.isascii() else "base64")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte=None if html.isascii() else "base64")
    return msg


# ------------------------------------------------------------------------- send


class _SMTP_SSL(smtplib.SMTP_SSL):
    """SMTP_SSL that closes the TCP socket when the TLS handshake fails.

    (The stdlib version leaks it, which shows up as a ResourceWarning.)
    """

    def _get_socket(self, host, port, timeout):
        raw = socket.create_connection((host, port), timeout, self.source_address)
        try:
            return self.context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise


def _login(conn: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH; non-ASCII credentials are sent as UTF-8 via AUTH PLAIN (RFC 4616).

    ``smtplib.SMTP.login`` only handles ASCII (it raises UnicodeEncodeError).
    """
    if username.isascii() and password.isascii():
        conn.login(username, password)
        return
    conn.ehlo_or_helo_if_needed()
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    mechanisms = conn.esmtp_features["auth"].upper().split()
    if "PLAIN" not in mechanisms:
        raise smtplib.SMTPException(
            "non-ASCII user name or password needs AUTH PLAIN, which the server lacks"
        )
    token = base64.b64encode(b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8"))
    code, resp = conn.docmd("AUTH", "PLAIN " + token.decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


def _code_retryable(code: int) -> bool:
    # 5xx: permanent negative completion reply.  4xx (transient) or no/odd code: assume transient.
    return not 500 <= code < 600


def _reply_text(error: bytes | str) -> str:
    if isinstance(error, bytes):
        return error.decode("utf-8", errors="replace")
    return str(error)


def send_mail(
    settings: SmtpSettings, message: EmailMessage, *, ssl_context: ssl.SSLContext | None = None
) -> None:
    """Send *message* via the server in *settings*.

    Raises :class:`DeliveryError`: ``retryable`` for connection failures,
    timeouts, disconnects and 4xx replies; not retryable for 5xx replies,
    certificate verification failures and missing server features (no
    STARTTLS / no AUTH).  A message refused for only some recipients also
    raises (retryable if any refusal was 4xx).  *ssl_context* defaults to
    :func:`ssl.create_default_context` (certificate and host name checked).
    """
    where = f"SMTP {settings.host}:{settings.port}"
    secret = settings.password

    def scrub(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    def fail(detail: str, retryable: bool) -> DeliveryError:
        return DeliveryError(scrub(f"{where}: {detail}"), retryable=retryable)

    context = ssl_context
    if settings.security != "plain" and context is None:
        context = ssl.create_default_context()

    try:
        conn: smtplib.SMTP
        if settings.security == "ssl":
            conn = _SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            conn = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            conn.ehlo()
            if settings.security == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if settings.username is not None:
                _login(conn, settings.username, settings.password or "")
            refused = conn.send_message(message)
            # The message was accepted; a failing QUIT does not matter.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
        finally:
            conn.close()
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refused_error(where, exc.recipients) from exc
    except smtplib.SMTPAuthenticationError as exc:
        # No exception chaining: nothing about the login exchange should travel further.
        raise fail(
            f"authentication failed ({exc.smtp_code} {_reply_text(exc.smtp_error)})",
            _code_retryable(exc.smtp_code),
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise fail(
            f"sender {exc.sender} refused ({exc.smtp_code} {_reply_text(exc.smtp_error)})",
            _code_retryable(exc.smtp_code),
        ) from exc
    except smtplib.SMTPResponseException as exc:  # connect, HELO, DATA, STARTTLS replies
        raise fail(
            f"{type(exc).__name__} ({exc.smtp_code} {_reply_text(exc.smtp_error)})",
            _code_retryable(exc.smtp_code),
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:  # e.g. no STARTTLS / AUTH: configuration problem
        raise fail(f"server does not support a required feature: {exc}", False) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise fail(f"server disconnected: {exc}", True) from exc
    except smtplib.SMTPException as exc:  # e.g. "No suitable authentication method found"
        raise fail(f"{type(exc).__name__}: {exc}", False) from exc
    except ssl.SSLCertVerificationError as exc:
        raise fail(f"TLS certificate verification failed: {exc.verify_message or exc}", False) from exc
    except TimeoutError as exc:
        raise fail(f"timed out after {settings.timeout:g}s", True) from exc
    except OSError as exc:  # refused, reset, unreachable, DNS failure, TLS handshake errors
        raise fail(f"{type(exc).__name__}: {exc}", True) from exc

    if refused:
        raise _refused_error(where, refused)


def _refused_error(where: str, refused: dict[str, tuple[int, bytes]]) -> DeliveryError:
    details = "; ".join(f"{addr}: {code} {_reply_text(reply)}" for addr, (code, reply) in refused.items())
    retryable = any(_code_retryable(code) for code, _ in refused.values())
    return DeliveryError(f"{where}: recipients refused ({details})", retryable=retryable)
