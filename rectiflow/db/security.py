"""Login throttling shared by every process: one row per throttled key (username + address)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rectiflow.db.base import Base, UTCDateTime


class LoginThrottle(Base):
    """Failed logins of one key in the current window. In the database, not in a process's memory, so
    the web login and the API token endpoint, in any number of processes, count against one limit."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
