"""The deliberate hook that makes SpiffWorkflow's timers read rectiflow's clock.

SpiffWorkflow computes and checks timer due times with ``datetime.now(timezone.utc)`` inside
``SpiffWorkflow.bpmn.specs.event_definitions.timer``. We replace that module's ``datetime`` name with
a subclass whose ``now()`` asks the clock that the running trigger installed (a context variable, so
concurrent requests in one process each see their own clock). Outside a trigger it falls back to the
wall clock, exactly like the library.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

from rectiflow.clock import Clock

_current: ContextVar[Clock | None] = ContextVar("rectiflow_engine_clock", default=None)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        clock = _current.get()
        now = clock.now() if clock is not None else datetime.now(UTC)
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


def install() -> None:
    """Idempotent; called when the engine package is imported."""
    if _spiff_timer.datetime is not _ClockedDatetime:
        _spiff_timer.datetime = _ClockedDatetime


@contextlib.contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)


install()
