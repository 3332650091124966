"""Delivery channels: plain functions that put one notification on the wire.

No database and no Flask here; the outbox worker decides *what* to send and
*when* to retry, these functions only send and classify failures:

* :class:`DeliveryError` -- the send failed; ``.retryable`` says whether trying
  again later may succeed (connection problems, timeouts, 4xx SMTP replies,
  HTTP 5xx/429, robot rate limits) or not (5xx SMTP replies, HTTP 4xx, robot
  ``errcode`` rejections).
* :class:`ChannelConfigError` -- the channel configuration (SMTP URL, webhook
  URL, ...) is invalid; retrying cannot help.
"""

from __future__ import annotations


class ChannelConfigError(ValueError):
    """A channel is misconfigured (bad SMTP URL, non-HTTP webhook URL, ...)."""


class DeliveryError(Exception):
    """Sending failed.

    ``retryable`` is True when a later attempt may succeed.  ``retry_after``
    (seconds) is set when the receiver told us how long to wait (HTTP
    ``Retry-After``).  Messages never contain SMTP passwords.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, retryable={self.retryable!r})"


# The submodules import the two exceptions above from this package, so they
# must be imported after the class definitions.
from .mail import (  # noqa: E402
    SmtpSettings,
    build_message,
    parse_smtp_url,
    send_mail,
    stable_message_id,
)
from .webhook import (  # noqa: E402
    format_dingtalk,
    format_generic,
    format_wecom,
    post_json,
    sign_dingtalk_url,
)

__all__ = [
    "ChannelConfigError",
    "DeliveryError",
    "SmtpSettings",
    "build_message",
    "format_dingtalk",
    "format_generic",
    "format_wecom",
    "parse_smtp_url",
    "post_json",
    "send_mail",
    "sign_dingtalk_url",
    "stable_message_id",
]
