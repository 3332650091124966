"""Worker fixtures: test settings with an SMTP URL (``smtp_url`` is overridden per module) and a
short job backoff, a loopback SMTP server (aiosmtpd) that can be started late, and the real
processes/ deployed (the scenarios' ``chain`` fixture)."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from scenarios.conftest import chain  # noqa: F401  (re-exported fixture: the real processes deployed)

from rectiflow.config import load_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An SMTP server on a fixed loopback port that is not listening until ``start()``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=3"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def by_recipient(self) -> dict[str, list[EmailMessage]]:
        out: dict[str, list[EmailMessage]] = {}
        for rcpts, msg in self.messages:
            for r in rcpts:
                out.setdefault(r, []).append(msg)
        return out


@pytest.fixture
def mailbox() -> Any:
    box = Mailbox()
    yield box
    box.stop()


@pytest.fixture
def smtp_url() -> str:
    return ""


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_url: str) -> Any:
    return load_settings({}, instance_dir=tmp_path, database_url=database_url, secret_key="test",
                         files_dir=tmp_path / "files", clock="virtual", smtp_url=smtp_url,
                         base_url="http://rectiflow.test",
                         webhook_allow_loopback=True)  # the webhook receivers of these tests are on loopback
