"""Failed-login throttle shared by the web login and the API token endpoint, in the database.

A limiter in one process's memory counts nothing another process saw, and the API had none at all.
Here every failure is a row update in its own short transaction (the caller's request transaction is
rolled back on a 401 and would take the count with it). After ``MAX_FAILURES`` failures of one key
within ``WINDOW`` the key is locked for ``LOCK`` from the next attempt on; while locked the password is
not even checked, so the lock is no oracle. A success clears the key."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from rectiflow.clock import Clock
from rectiflow.db.raw import raw_connection
from rectiflow.db.security import LoginThrottle

MAX_FAILURES = 5
WINDOW = timedelta(minutes=10)
LOCK = timedelta(minutes=10)
KEY_MAX = 200

_ENSURE = ("INSERT INTO login_throttles (key, failures, window_start, locked_until) VALUES (?, 0, ?, NULL)"
           " ON CONFLICT (key) DO NOTHING")


@dataclass(frozen=True)
class Locked:
    until: datetime
    retry_after: int  # whole seconds, for the Retry-After header


def throttle_key(username: str, address: str | None) -> str:
    """One key per account name and client address: a guesser cannot lock an account from everywhere."""
    return f"{username.strip().lower()[:128]}|{(address or '-')[:64]}"[:KEY_MAX]


def _locked(row: LoginThrottle | None, now: datetime) -> Locked | None:
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return Locked(row.locked_until, max(1, math.ceil((row.locked_until - now).total_seconds())))


def locked(sessions: sessionmaker[Session], clock: Clock, key: str) -> Locked | None:
    with sessions() as s:
        return _locked(s.get(LoginThrottle, key), clock.now())


def record_failure(sessions: sessionmaker[Session], clock: Clock, key: str) -> Locked | None:
    """Count one failure; the lock it starts, if this was the last failure allowed."""
    now = clock.now()
    with sessions.begin() as s:
        raw = raw_connection(s)
        raw.execute(_ENSURE, (key, raw.when(now)))  # concurrent first failures: one row, no IntegrityError
        row = s.scalar(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update())
        assert row is not None
        if row.window_start + WINDOW <= now:
            row.failures, row.window_start, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= MAX_FAILURES:
            row.locked_until = now + LOCK
        s.flush()
        return _locked(row, now)


def clear(sessions: sessionmaker[Session], key: str) -> None:
    with sessions.begin() as s:
        s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
