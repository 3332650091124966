"""The one clock seam. Nothing else in rectiflow calls ``datetime.now()``.

Production uses :class:`WallClock`. Tests and demo mode use a virtual clock whose offset from the
wall clock is kept in the database (``rectiflow.services.clock``) so that the web server, the
workers and the CLI always agree on "now". The engine's timers read the same clock through the
hook in ``rectiflow.engine.timeclock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def now(self) -> datetime:  # always timezone-aware UTC
        raise NotImplementedError

    def today(self) -> date:
        """The business date (Asia/Shanghai), which is what deadlines are counted in."""
        return self.now().astimezone(BUSINESS_TZ).date()


class WallClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that only moves when told to: for engine tests and benchmarks."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class OffsetClock(Clock):
    """Wall time plus an offset read from somewhere shared (the database in virtual mode)."""

    def __init__(self, offset_source: Callable[[], timedelta]) -> None:
        self._offset_source = offset_source

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset_source()


def parse_duration(text: str) -> timedelta:
    """Parse '3d', '12h', '90m', '2w', 'P3D', 'PT4H' or '1d12h' for ``clock advance``."""
    import re

    raw = text.strip()
    iso = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", raw.upper())
    if iso and raw.upper() != "P" and any(iso.groups()):
        w, d, h, m, s = (int(g or 0) for g in iso.groups())
        return _bounded(text, weeks=w, days=d, hours=h, minutes=m, seconds=s)
    parts = re.findall(r"(\d+)\s*([wdhms])", raw.lower())
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", raw.lower()):
        raise ValueError(f"cannot read duration {text!r}: use e.g. 3d, 12h, 2w, 1d12h or P3D")
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    kwargs: dict[str, int] = {}
    for number, unit in parts:
        kwargs[units[unit]] = kwargs.get(units[unit], 0) + int(number)
    return _bounded(text, **kwargs)


MAX_DURATION = timedelta(days=36525)  # a century: any more and "now" soon leaves what a datetime can hold


def _bounded(text: str, **kwargs: int) -> timedelta:
    """The duration, or ValueError when it exceeds ``MAX_DURATION`` (before building it: 10**21 seconds
    is an OverflowError in ``timedelta`` itself)."""
    seconds = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
    if sum(n * seconds[k] for k, n in kwargs.items()) > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {text.strip()[:40]!r} is too long: at most {MAX_DURATION.days} days")
    return timedelta(**kwargs)
