"""Appending to and verifying the audit log's hash chains (see ``rectiflow.db.audit``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.audit import AuditEvent, AuditStream
from rectiflow.db.raw import RawConnection
from rectiflow.db.runtime import ProcessInstance


def _digest(prev: str, stream: str, seq: int, at: datetime, actor: str, action: str,
            object_type: str, object_id: str, payload: dict[str, Any]) -> str:
    body = json.dumps(
        [stream, seq, at.isoformat(timespec="microseconds"), actor, action, object_type, object_id, payload],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256((prev + body).encode()).hexdigest()


_INSERT = ("INSERT INTO audit_events (stream, seq, at, actor, action, object_type, object_id, payload, prev_hash, hash)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True)
class PendingEvent:
    """An instance's next event, hashed before it is written: the trigger puts the new chain head on
    the instance row in the same version-checked update, then writes the event itself."""

    stream: str
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    prev: str
    digest: str

    payload_json: str

    def write(self, raw: RawConnection) -> None:
        raw.execute(_INSERT, (self.stream, self.seq, raw.when(self.at), self.actor, self.action, self.object_type,
                              self.object_id, raw.json_text(self.payload_json), self.prev, self.digest))


def head_after(prev: str, *, instance_id: int, seq: int, at: datetime, actor: str, action: str, object_type: str,
               object_id: str, payload: dict[str, Any]) -> PendingEvent:
    text = json.dumps(payload, default=str)
    payload = json.loads(text)  # hashed exactly as it will read back
    stream = f"instance:{instance_id}"
    digest = _digest(prev, stream, seq, at, actor, action, object_type, object_id, payload)
    return PendingEvent(stream, seq, at, actor, action, object_type, object_id, payload, prev, digest, text)


def record(session: Session, *, at: datetime, actor: str, action: str, object_type: str = "",
           object_id: str = "", payload: dict[str, Any] | None = None,
           instance: ProcessInstance | None = None) -> AuditEvent:
    """Append one event. With ``instance`` it goes on that instance's chain, whose head lives on the
    instance row (already locked by the trigger's optimistic version check)."""
    payload = json.loads(json.dumps(payload or {}, default=str))
    at = at.replace(microsecond=at.microsecond)  # stored exactly as hashed
    head: AuditStream | None = None
    if instance is not None:
        stream, prev, seq = f"instance:{instance.id}", instance.audit_head, instance.audit_seq + 1
    else:
        stream = "system"
        head = session.get(AuditStream, stream) or AuditStream(stream=stream, seq=0, head="")
        session.add(head)
        prev, seq = head.head, head.seq + 1
    digest = _digest(prev, stream, seq, at, actor, action, object_type, object_id, payload)
    event = AuditEvent(stream=stream, seq=seq, at=at, actor=actor, action=action, object_type=object_type,
                       object_id=object_id, payload=payload, prev_hash=prev, hash=digest)
    session.add(event)
    if instance is not None:
        instance.audit_seq, instance.audit_head = seq, digest
    elif head is not None:
        head.seq, head.head = seq, digest
    return event


@dataclass(frozen=True)
class VerifyReport:
    events: int
    streams: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session) -> VerifyReport:
    problems: list[str] = []
    heads: dict[str, tuple[int, str]] = {}
    count = 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.stream, AuditEvent.seq)).scalars()
    for ev in rows:
        count += 1
        seq, prev = heads.get(ev.stream, (0, ""))
        if ev.seq != seq + 1:
            problems.append(f"{ev.stream}: event #{ev.id} has seq {ev.seq}, expected {seq + 1}")
        if ev.prev_hash != prev:
            problems.append(f"{ev.stream}: event #{ev.id} does not link to the previous event")
        expected = _digest(ev.prev_hash, ev.stream, ev.seq, ev.at, ev.actor, ev.action, ev.object_type,
                           ev.object_id, ev.payload)
        if expected != ev.hash:
            problems.append(f"{ev.stream}: event #{ev.id} ({ev.action}) was altered: hash mismatch")
        heads[ev.stream] = (ev.seq, ev.hash)
    for inst in session.execute(select(ProcessInstance.id, ProcessInstance.audit_seq, ProcessInstance.audit_head)):
        seq, head = heads.get(f"instance:{inst.id}", (0, ""))
        if (inst.audit_seq, inst.audit_head) != (seq, head):
            problems.append(f"instance:{inst.id}: chain head does not match the last event (events removed?)")
    return VerifyReport(count, len(heads), problems)


def timeline(session: Session, *, instance_ids: list[int] | None = None, object_type: str | None = None,
             object_id: str | None = None, limit: int = 500) -> list[AuditEvent]:
    q = select(AuditEvent)
    if instance_ids is not None:
        q = q.where(AuditEvent.stream.in_([f"instance:{i}" for i in instance_ids]))
    if object_type is not None:
        q = q.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        q = q.where(AuditEvent.object_id == object_id)
    return list(session.scalars(q.order_by(AuditEvent.at, AuditEvent.id).limit(limit)))
