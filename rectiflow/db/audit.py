"""The append-only audit log.

Events form hash chains per *stream* (one per process instance, plus "system" for everything else):
``hash = sha256(prev_hash + canonical JSON of the event)``. A unique (stream, seq) makes two
concurrent appenders on one stream collide instead of forking the chain, and database triggers
(created in the migrations) refuse UPDATE, DELETE and, on PostgreSQL, TRUNCATE. Each stream's head is
anchored with an HMAC (``AuditAnchor``) so a deleted tail is found even by someone who rewrote the head.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rectiflow.db.base import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("stream", "seq"),
        Index("ix_audit_events_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditStream(Base):
    """Head of each stream that is not a process instance (instances keep their head on their row)."""

    __tablename__ = "audit_streams"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head: Mapped[str] = mapped_column(String(64), default="")


class AuditAnchor(Base):
    """Every stream's head (system and instances alike) with an HMAC made with a key kept outside the
    database (the instance secret key). Someone able to write the database can delete a stream's tail and
    move its head back to the last event left, and the hashes still link; they cannot recompute ``mac``
    for that shorter head, so ``audit verify`` notices."""

    __tablename__ = "audit_anchors"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
