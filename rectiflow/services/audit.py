"""Appending to and verifying the audit log's hash chains (see ``rectiflow.db.audit``).

Every append also moves the stream's anchor: its head with an HMAC keyed by the instance secret key,
which lives outside the database (``RECTIFLOW_SECRET_KEY`` or the instance's ``secret_key`` file). The
key reaches this module through the session's ``info`` (set once by ``build_runtime``), so no call
site has to carry it."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from rectiflow.db.audit import AuditAnchor, AuditEvent, AuditStream
from rectiflow.db.org import User
from rectiflow.db.raw import RawConnection, raw_connection
from rectiflow.db.runtime import ProcessInstance

ANCHOR_KEY = "rectiflow_audit_anchor_key"


def session_info(secret_key: str) -> dict[str, Any]:
    """What ``build_runtime`` puts in every session's ``info`` so appends can anchor their heads."""
    return {ANCHOR_KEY: secret_key}


def _anchor_key(session: Session) -> bytes:
    key = session.info.get(ANCHOR_KEY)
    if not key:
        # Appending without anchoring would leave a head that verify reports as tampered with.
        raise RuntimeError("audit anchor key missing: sessions must come from build_runtime")
    return str(key).encode()


def anchor_mac(key: bytes, stream: str, seq: int, head: str) -> str:
    return hmac.new(key, f"rectiflow-audit-anchor\n{stream}\n{seq}\n{head}".encode(), hashlib.sha256).hexdigest()


_ANCHOR = ("INSERT INTO audit_anchors (stream, seq, head, mac) VALUES (?, ?, ?, ?) ON CONFLICT (stream)"
           " DO UPDATE SET seq = excluded.seq, head = excluded.head, mac = excluded.mac")


def _anchor(raw: RawConnection, key: bytes, stream: str, seq: int, head: str) -> None:
    raw.execute(_ANCHOR, (stream, seq, head, anchor_mac(key, stream, seq, head)))


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

    def write(self, raw: RawConnection, session: Session) -> None:
        raw.execute(_INSERT, (self.stream, self.seq, raw.when(self.at), self.actor, self.action, self.object_type,
                              self.object_id, raw.json_text(self.payload_json), self.prev, self.digest))
        _anchor(raw, _anchor_key(session), self.stream, self.seq, self.digest)


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
    _anchor(raw_connection(session), _anchor_key(session), stream, seq, digest)
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
    """Every chain links and hashes; every head (instance rows, ``audit_streams``) is its stream's last
    event; every stream's anchor matches that head and carries a valid HMAC. Streams written before
    anchoring existed are listed as unanchored until ``anchor_unanchored`` has run."""
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
    recorded: dict[str, tuple[int, str]] = {}
    for inst in session.execute(select(ProcessInstance.id, ProcessInstance.audit_seq, ProcessInstance.audit_head)):
        recorded[f"instance:{inst.id}"] = (inst.audit_seq, inst.audit_head)
    for row in session.scalars(select(AuditStream)):
        recorded[row.stream] = (row.seq, row.head)
    for stream, head in sorted(recorded.items()):
        if head != heads.get(stream, (0, "")):
            problems.append(f"{stream}: chain head does not match the last event (events removed?)")
    problems += _anchor_problems(session, heads, recorded)
    return VerifyReport(count, len(heads), problems)


def _anchor_problems(session: Session, heads: dict[str, tuple[int, str]],
                     recorded: dict[str, tuple[int, str]]) -> list[str]:
    key = _anchor_key(session)
    anchors = {a.stream: a for a in session.scalars(select(AuditAnchor))}
    problems: list[str] = []
    if "system" not in heads and "system" not in anchors and session.scalar(select(exists().where(User.id > 0))):
        # Accounts exist, so their creation was recorded: the whole system stream is gone.
        problems.append("system: no events, no head and no anchor although accounts exist (stream removed?)")
    for stream in sorted(set(heads) | set(anchors) | {s for s, (seq, _) in recorded.items() if seq}):
        anchor, head = anchors.get(stream), heads.get(stream, (0, ""))
        if anchor is None:
            problems.append(f"{stream}: head not anchored (written before anchoring, or the anchor was removed)")
        elif not hmac.compare_digest(anchor.mac, anchor_mac(key, stream, anchor.seq, anchor.head)):
            problems.append(f"{stream}: anchor signature invalid (rewritten, or another secret key)")
        elif (anchor.seq, anchor.head) != head:
            problems.append(f"{stream}: anchored head is event {anchor.seq} but the last event is {head[0]}"
                            " (events removed or added outside the application)")
    return problems


def anchor_unanchored(session: Session) -> list[str]:
    """Anchor the streams that have none yet (written before anchoring existed), at their last event.
    Never moves an existing anchor: a mismatch stays visible to ``verify``."""
    key = _anchor_key(session)
    anchored = set(session.scalars(select(AuditAnchor.stream)))
    last: dict[str, tuple[int, str]] = {}
    for stream, seq, digest in session.execute(select(AuditEvent.stream, AuditEvent.seq, AuditEvent.hash)
                                               .order_by(AuditEvent.stream, AuditEvent.seq)):
        last[stream] = (seq, digest)
    done = []
    for stream, (seq, digest) in sorted(last.items()):
        if stream not in anchored:
            session.add(AuditAnchor(stream=stream, seq=seq, head=digest, mac=anchor_mac(key, stream, seq, digest)))
            done.append(stream)
    session.flush()
    return done


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
