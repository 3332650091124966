"""The virtual clock's shared state. In virtual mode "now" is wall time plus an offset stored in
the database, so the server, the workers and the CLI agree; advancing it is one UPDATE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from time import monotonic

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rectiflow.clock import Clock, OffsetClock, WallClock
from rectiflow.config import Settings
from rectiflow.db.runtime import ClockState
from rectiflow.errors import Conflict, InvalidInput
from rectiflow.i18n import N_, Message

# The latest "now" the virtual clock may reach. Far enough for any demo, and far enough below year 9999
# that deadlines, warning timers and review cycles computed from "now" still fit in a datetime.
LATEST = datetime(2999, 12, 31, tzinfo=UTC)
_MAX_OFFSET_S = (LATEST - datetime(2020, 1, 1, tzinfo=UTC)).total_seconds()


class _OffsetCache:
    """Reads the offset at most every ``ttl`` seconds; writes through this process refresh it."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 0.5) -> None:
        self.sessions, self.ttl = sessions, ttl
        self._value, self._read_at = timedelta(0), -1e9

    def __call__(self) -> timedelta:
        if monotonic() - self._read_at > self.ttl:
            with self.sessions() as s:
                offset = s.scalar(select(ClockState.offset_seconds).where(ClockState.id == 1))
            # A row written before advances were bounded must not break every page: never read past LATEST.
            offset = min(offset or 0.0, _MAX_OFFSET_S)
            self._value, self._read_at = timedelta(seconds=offset), monotonic()
        return self._value

    def invalidate(self) -> None:
        self._read_at = -1e9


def make_clock(settings: Settings, sessions: sessionmaker[Session]) -> Clock:
    if not settings.virtual_clock:
        return WallClock()
    return OffsetClock(_OffsetCache(sessions))


def check_advance(now: datetime, delta: timedelta) -> None:
    """Refuse a move that would take the clock past ``LATEST`` (one admin typing ``99999999d`` used to
    make every later page fail with OverflowError)."""
    if delta > LATEST - now:
        raise InvalidInput(N_("The clock cannot move that far."),
                           errors={"duration": [Message(N_("The clock may not pass %(date)s."),
                                                        date=LATEST.date().isoformat())]})


def advance(session: Session, clock: Clock, delta: timedelta) -> None:
    if not isinstance(clock, OffsetClock):
        raise Conflict(N_("The clock is not virtual: set RECTIFLOW_CLOCK=virtual to move time."))
    if delta < timedelta(0):
        raise Conflict(N_("Time only moves forward: timers that fired cannot un-fire."))
    state = session.get(ClockState, 1, with_for_update=True)
    now = clock.now()
    # Checked against the locked row, not the cached offset: two advances in a row (or in two processes)
    # must not each pass the check on their own.
    source = getattr(clock, "_offset_source", None)
    wall = now - (source() if callable(source) else timedelta(0))
    check_advance(wall + timedelta(seconds=state.offset_seconds if state else 0.0), delta)
    if state is None:
        session.add(ClockState(id=1, offset_seconds=delta.total_seconds(), updated_at=now))
    else:
        state.offset_seconds += delta.total_seconds()
        state.updated_at = now
    session.flush()
    source = getattr(clock, "_offset_source", None)
    if isinstance(source, _OffsetCache):
        source.invalidate()
