"""Issue 15, fault 7: ``audit verify`` never checked the head of the ``system`` stream, so deleting its last
events (or all of them) still verified, and on PostgreSQL ``TRUNCATE audit_events`` succeeded.

Every test plays someone with write access to the database who switches the append-only triggers off:
verify must notice what they did, including deleting a tail *and* rewriting the head, which only the
HMAC anchors (keyed by the secret key, outside the database) can reveal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select, text

from rectiflow.db.audit import AuditAnchor, AuditEvent
from rectiflow.services import audit
from rectiflow.services.accounts import users as us
from tests.web.conftest import ready_tasks, start

TRIGGERS_SQLITE = ("audit_events_no_delete", "audit_events_no_update", "audit_anchors_no_delete")


@contextmanager
def tampering(rt: Any) -> Iterator[Any]:
    """A connection with the audit log's guards off (restored afterwards: the PostgreSQL schema is shared)."""
    with rt.db.begin() as conn:
        if conn.dialect.name == "sqlite":
            for name in TRIGGERS_SQLITE:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            yield conn
            return
        for table in ("audit_events", "audit_anchors"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield conn
        for table in ("audit_events", "audit_anchors"):
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def verify(rt: Any) -> list[str]:
    with rt.reads() as s:
        return audit.verify(s).problems


def _system_tail(rt: Any, n: int) -> tuple[int, int, str]:
    """(seq of the event that becomes the last, its hash) after removing the last ``n`` system events."""
    with rt.reads() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.stream == "system").order_by(AuditEvent.seq)))
    keep = events[-n - 1]
    return events[-n].seq, keep.seq, keep.hash


def test_a_fresh_log_verifies_and_every_stream_is_anchored(rt, org, deployed):
    start(rt, org)
    assert verify(rt) == []
    with rt.reads() as s:
        streams = set(s.scalars(select(AuditEvent.stream).distinct()))
        assert set(s.scalars(select(AuditAnchor.stream))) == streams and "system" in streams


def test_deleting_the_last_system_events_is_found(rt, org):
    first_deleted, _, _ = _system_tail(rt, 2)
    with tampering(rt) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE stream = 'system' AND seq >= :s"), {"s": first_deleted})
    problems = verify(rt)
    assert any(p.startswith("system: chain head does not match") for p in problems), problems


def test_deleting_a_tail_and_rewriting_the_head_is_found_by_the_anchor(rt, org):
    first_deleted, seq, digest = _system_tail(rt, 3)
    with tampering(rt) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE stream = 'system' AND seq >= :s"), {"s": first_deleted})
        conn.execute(text("UPDATE audit_streams SET seq = :seq, head = :h WHERE stream = 'system'"),
                     {"seq": seq, "h": digest})
    problems = verify(rt)
    assert problems == [f"system: anchored head is event {seq + 3} but the last event is {seq} "
                        "(events removed or added outside the application)"], problems


def test_rewriting_the_anchor_without_the_key_is_found(rt, org):
    first_deleted, seq, digest = _system_tail(rt, 1)
    forged = audit.anchor_mac(b"not-the-secret-key", "system", seq, digest)
    with tampering(rt) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE stream = 'system' AND seq >= :s"), {"s": first_deleted})
        conn.execute(text("UPDATE audit_streams SET seq = :seq, head = :h WHERE stream = 'system'"),
                     {"seq": seq, "h": digest})
        conn.execute(text("UPDATE audit_anchors SET seq = :seq, head = :h, mac = :m WHERE stream = 'system'"),
                     {"seq": seq, "h": digest, "m": forged})
    assert verify(rt) == ["system: anchor signature invalid (rewritten, or another secret key)"]


def test_deleting_the_whole_system_stream_is_found(rt, org):
    with tampering(rt) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE stream = 'system'"))
        conn.execute(text("DELETE FROM audit_streams"))
        conn.execute(text("DELETE FROM audit_anchors WHERE stream = 'system'"))
    assert verify(rt) == ["system: no events, no head and no anchor although accounts exist (stream removed?)"]


def test_an_instance_tail_removed_with_its_head_rewritten_is_found(rt, org, deployed):
    from rectiflow.services.workflow import tasks

    iid = start(rt, org)
    [draft] = ready_tasks(rt, iid)
    with rt.sessions.begin() as s:
        tasks.complete_task(s, rt, draft.id, org["actors"]["a_rect"], {"note": "第一稿"})
    stream = f"instance:{iid}"
    with rt.reads() as s:
        last_seq = s.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.stream == stream))
        keep = s.scalar(select(AuditEvent).where(AuditEvent.stream == stream, AuditEvent.seq == last_seq - 1))
    with tampering(rt) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE stream = :st AND seq = :s"), {"st": stream, "s": last_seq})
        conn.execute(text("UPDATE process_instances SET audit_seq = :s, audit_head = :h WHERE id = :i"),
                     {"s": keep.seq, "h": keep.hash, "i": iid})
    assert verify(rt) == [f"{stream}: anchored head is event {last_seq} but the last event is {keep.seq} "
                          "(events removed or added outside the application)"]


def test_streams_from_before_anchoring_are_listed_until_anchored(rt, org):
    with tampering(rt) as conn:
        conn.execute(text("DELETE FROM audit_anchors"))
    assert verify(rt) == ["system: head not anchored (written before anchoring, or the anchor was removed)"]
    with rt.sessions.begin() as s:
        assert audit.anchor_unanchored(s) == ["system"]
    assert verify(rt) == []
    with rt.sessions.begin() as s:  # appending keeps the anchor moving with the head
        us.create_user(s, rt.clock, username="late", display_name="late", password="passw0rd!")
    assert verify(rt) == []


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # TRUNCATE is PostgreSQL's; SQLite's
def test_truncate_of_the_audit_log_is_refused_on_postgresql(rt, org, database_url):  # DELETE: row trigger
    assert database_url.startswith("postgresql")
    for table in ("audit_events", "audit_anchors"):
        with pytest.raises(Exception, match="append-only: TRUNCATE refused"), rt.db.begin() as conn:
            conn.execute(text(f"TRUNCATE {table} CASCADE"))
    assert verify(rt) == []


def test_anchors_cannot_be_deleted_with_the_triggers_on(rt, org):
    with pytest.raises(Exception, match="cannot be deleted"), rt.db.begin() as conn:
        conn.execute(text("DELETE FROM audit_anchors"))
    assert verify(rt) == []


def test_the_cli_verifies_and_anchors(rt, org, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rectiflow_cli.main import main

    for name, value in (("RECTIFLOW_DATABASE_URL", rt.settings.database_url), ("RECTIFLOW_SECRET_KEY", "test"),
                        ("RECTIFLOW_INSTANCE_DIR", str(tmp_path))):
        monkeypatch.setenv(name, value)
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 0
    with tampering(rt) as conn:
        conn.execute(text("DELETE FROM audit_anchors"))
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1 and "system: head not anchored" in result.output
    result = CliRunner().invoke(main, ["audit", "anchor"])
    assert result.exit_code == 0 and "1 stream(s) anchored" in result.output
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 0
    monkeypatch.setenv("RECTIFLOW_SECRET_KEY", "another-key")  # the anchors only hold with the instance key
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1 and "anchor signature invalid" in result.output
