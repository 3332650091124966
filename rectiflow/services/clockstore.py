"""The virtual clock's shared state. In virtual mode "now" is wall time plus an offset stored in
the database, so the server, the workers and the CLI agree; advancing it is one UPDATE."""

from __future__ import annotations

from datetime import timedelta
from time import monotonic

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rectiflow.clock import Clock, OffsetClock, WallClock
from rectiflow.config import Settings
from rectiflow.db.runtime import ClockState
from rectiflow.errors import Conflict


class _OffsetCache:
    """Reads the offset at most every ``ttl`` seconds; writes through this process refresh it."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 0.5) -> None:
        self.sessions, self.ttl = sessions, ttl
        self._value, self._read_at = timedelta(0), -1e9

    def __call__(self) -> timedelta:
        if monotonic() - self._read_at > self.ttl:
            with self.sessions() as s:
                offset = s.scalar(select(ClockState.offset_seconds).where(ClockState.id == 1))
            self._value, self._read_at = timedelta(seconds=offset or 0.0), monotonic()
        return self._value

    def invalidate(self) -> None:
        self._read_at = -1e9


def make_clock(settings: Settings, sessions: sessionmaker[Session]) -> Clock:
    if not settings.virtual_clock:
        return WallClock()
    return OffsetClock(_OffsetCache(sessions))


def advance(session: Session, clock: Clock, delta: timedelta) -> None:
    if not isinstance(clock, OffsetClock):
        raise Conflict("the clock is not virtual: set RECTIFLOW_CLOCK=virtual to move time")
    if delta < timedelta(0):
        raise Conflict("time only moves forward: timers that fired cannot un-fire")
    state = session.get(ClockState, 1, with_for_update=True)
    now = clock.now()
    if state is None:
        session.add(ClockState(id=1, offset_seconds=delta.total_seconds(), updated_at=now))
    else:
        state.offset_seconds += delta.total_seconds()
        state.updated_at = now
    session.flush()
    source = getattr(clock, "_offset_source", None)
    if isinstance(source, _OffsetCache):
        source.invalidate()
