"""Deadline arithmetic and warning rules for rectification measures (整改时限与三色预警).

Everything here is a pure function of its arguments. Nothing reads the clock: callers pass
``today`` (a business date in Asia/Shanghai, see ``rectiflow.clock.Clock.today``) or ``now``, so
the same rules give the same answer in the web app, the workers, the CLI and under a virtual
clock in tests and demos.

Report-schedule templates live in :mod:`rectiflow.domain.schedules`; the shared
:class:`ConfigError` is defined here because both modules raise it.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import chinese_calendar

# Deadlines are business dates: "due 30 April" means the end of 30 April in Beijing time,
# whatever timezone the server runs in.
from rectiflow.clock import BUSINESS_TZ
from rectiflow.domain.vocab import DeadlineType, ScheduleFlag, WarningColour

# Notices go out at the start of the office day, not at midnight when nobody reads them.
NOTICE_TIME = time(9, 0)


class ConfigError(ValueError):
    """A stored or submitted configuration (schedule template, thresholds) is invalid.

    ``problems`` lists every fault, each prefixed with the path of the field
    (``"milestones[2].months: must be an integer between 0 and 36"``), so a form or the CLI can
    show all of them at once instead of one per attempt.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid configuration: " + "; ".join(self.problems))


def _is_int(value: Any) -> bool:
    # JSON booleans are Python ints; ``true`` must not be accepted as "1 month".
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- calendar arithmetic


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamping to the month end (31 Jan + 1 month = 28/29 Feb).

    This is how "within 3 months of the feedback" is read in practice: 31 January + 3 months is
    30 April, not 1 May. Negative ``months`` go back the same way.
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def year_end(d: date) -> date:
    """31 December of ``d``'s year (the annual report's due date)."""
    return date(d.year, 12, 31)


def is_working_day(d: date) -> bool:
    """True when ``d`` is a working day in mainland China.

    Uses ``chinese_calendar``: official holidays are off and adjusted working weekend days
    (调休, e.g. Sunday 2025-09-28) are on. The package only knows the years for which the State
    Council has published a schedule; for any other year it raises ``NotImplementedError`` and we
    fall back to plain Monday–Friday, because a deadline that is a day off by a holiday is far
    better than a workflow that crashes. Update ``chinesecalendar`` each December.
    """
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def add_working_days(d: date, n: int) -> date:
    """The date ``n`` working days after ``d`` (before it when ``n`` is negative).

    ``d`` itself is not counted, so 2025-09-30 + 1 working day is 2025-10-09 (National Day and
    Mid-Autumn holiday in between). ``n == 0`` returns ``d`` unchanged, even on a day off.
    Each day is judged by :func:`is_working_day`, so outside the years ``chinese_calendar``
    knows the count falls back to Monday–Friday.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    current = d
    while remaining:
        current += step
        if is_working_day(current):
            remaining -= 1
    return current


def days_between(a: date, b: date) -> int:
    """Calendar days from ``a`` to ``b`` (negative when ``b`` is earlier)."""
    return (b - a).days


# --------------------------------------------------------------------------- instants and timers


def due_instant(d: date, tz: tzinfo = BUSINESS_TZ) -> datetime:
    """The first instant after due date ``d`` has ended, as an aware UTC datetime.

    An item due on 30 April is on time all of 30 April Beijing time, so it becomes overdue at
    1 May 00:00 +08:00 = 30 April 16:00 UTC. Timers fire at this instant.
    """
    return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=tz).astimezone(UTC)


def notice_instant(d: date, tz: tzinfo = BUSINESS_TZ) -> datetime:
    """09:00 on ``d`` in ``tz`` as an aware UTC datetime: when a warning notice for ``d`` is sent."""
    return datetime.combine(d, NOTICE_TIME, tzinfo=tz).astimezone(UTC)


def timer_expression(dt: datetime) -> str:
    """An ISO-8601 timer date WITH an explicit UTC offset (``2025-04-30T16:00:00+00:00``).

    A timer date without an offset is read in the server's local timezone, which would shift
    every deadline by eight hours on a UTC server; so naive datetimes are refused.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("timer_expression needs a timezone-aware datetime")
    return dt.astimezone(UTC).isoformat()


# --------------------------------------------------------------------------- colour warnings

COLOURS = WarningColour.codes()  # labels: ``WarningColour.label_of``

# Who is notified at each colour (DOMAIN.md "Colour warnings"). The red audience reaches the
# unit's principal leader and the discipline committee because an overdue item is now their
# supervision matter. These are defaults; a deployment may configure its own.
WARNING_AUDIENCE: dict[str, tuple[str, ...]] = {
    WarningColour.GREEN: ("responsible_person",),
    WarningColour.YELLOW: ("responsible_person", "responsible_leader"),
    WarningColour.RED: ("responsible_person", "responsible_leader", "principal_leader", "discipline_committee"),
}

_THRESHOLD_FIELDS = ("green_days", "yellow_days")


def _threshold_problems(green: Any, yellow: Any) -> list[str]:
    problems: list[str] = []
    if not _is_int(green):
        problems.append("green_days: must be an integer")
    elif not 2 <= green <= 365:
        problems.append("green_days: must be between 2 and 365")
    if not _is_int(yellow):
        problems.append("yellow_days: must be an integer")
    elif yellow < 1:
        problems.append("yellow_days: must be at least 1")
    if not problems and yellow >= green:
        problems.append("yellow_days: must be less than green_days")
    return problems


@dataclass(frozen=True)
class Thresholds:
    """Days before the deadline at which the green and yellow notices start.

    Invariant 1 ≤ yellow_days < green_days ≤ 365, checked on construction so an invalid value
    cannot reach the warning job by any route.
    """

    green_days: int = 20
    yellow_days: int = 10

    def __post_init__(self) -> None:
        problems = _threshold_problems(self.green_days, self.yellow_days)
        if problems:
            raise ConfigError(problems)


def thresholds_from_dict(data: Mapping[str, Any]) -> Thresholds:
    """Read thresholds stored with a round; missing fields take the defaults (20 / 10 days)."""
    if not isinstance(data, Mapping):
        raise ConfigError(["thresholds: must be an object"])
    problems = [f"{key}: unknown field" for key in data if key not in _THRESHOLD_FIELDS]
    defaults = Thresholds()
    green = data.get("green_days", defaults.green_days)
    yellow = data.get("yellow_days", defaults.yellow_days)
    problems += _threshold_problems(green, yellow)
    if problems:
        raise ConfigError(problems)
    return Thresholds(green_days=green, yellow_days=yellow)


def thresholds_to_dict(t: Thresholds) -> dict[str, int]:
    return {"green_days": t.green_days, "yellow_days": t.yellow_days}


def colour(deadline: date, today: date, t: Thresholds) -> WarningColour:
    """The warning colour of an unfinished item on ``today``.

    ``"none"`` with more than ``green_days`` left, ``"green"`` from exactly ``green_days`` left,
    ``"yellow"`` from exactly ``yellow_days`` left up to and including the deadline day itself
    (still on time), ``"red"`` from the day after the deadline.
    """
    left = (deadline - today).days
    if left < 0:
        return WarningColour.RED
    if left <= t.yellow_days:
        return WarningColour.YELLOW
    if left <= t.green_days:
        return WarningColour.GREEN
    return WarningColour.NONE


def warning_dates(deadline: date, t: Thresholds) -> dict[str, date]:
    """The first day of each colour, consistent with :func:`colour` (used to schedule notices)."""
    return {
        WarningColour.GREEN: deadline - timedelta(days=t.green_days),
        WarningColour.YELLOW: deadline - timedelta(days=t.yellow_days),
        WarningColour.RED: deadline + timedelta(days=1),
    }


# --------------------------------------------------------------------------- schedule flag

SCHEDULE_FLAGS = ScheduleFlag.codes()  # labels: ``ScheduleFlag.label_of``

# Progress reports are coarse (people type 30 %, 50 %...), so "behind schedule" only counts
# when progress trails the elapsed share of time by more than this many points.
LAG_TOLERANCE_PCT = 10


def schedule_flag(
    start: date, deadline: date, today: date, progress_pct: int, tolerance_pct: int = LAG_TOLERANCE_PCT
) -> ScheduleFlag:
    """按序时推进 / 滞后 / 超期 for a measure.

    * ``"overdue"``: past the deadline (``today > deadline``) and not at 100 %.
    * ``"lagging"``: progress below (share of the start→deadline period elapsed, in %) minus
      ``tolerance_pct``. On the deadline day the elapsed share is 100 %.
    * ``"on_track"`` otherwise, including anything at 100 % (awaiting acceptance is not late).
    """
    if not _is_int(progress_pct) or not 0 <= progress_pct <= 100:
        raise ValueError(f"progress_pct must be an integer between 0 and 100, got {progress_pct!r}")
    if deadline < start:
        raise ValueError(f"deadline {deadline} is before start {start}")
    if progress_pct >= 100:
        return ScheduleFlag.ON_TRACK
    if today > deadline:
        return ScheduleFlag.OVERDUE
    total = (deadline - start).days
    if total == 0:
        # Same-day item (立行立改 started and due today): the whole period has elapsed today.
        elapsed_pct = 100.0 if today >= start else 0.0
    else:
        elapsed_pct = min(max((today - start).days / total, 0.0), 1.0) * 100
    return ScheduleFlag.LAGGING if progress_pct < elapsed_pct - tolerance_pct else ScheduleFlag.ON_TRACK


# --------------------------------------------------------------------------- deadline types

DEADLINE_TYPES = DeadlineType.codes()  # labels: ``DeadlineType.label_of``


def review_dates(start: date, cycle_months: int, until: date) -> list[date]:
    """Review dates of a long-term (长期坚持) item: every ``cycle_months`` after ``start``, up to
    and including ``until``. ``start`` itself is not a review.

    Each date is computed from ``start`` (start + k·cycle), not from the previous review, so
    month-end clamping does not drift: from 31 January every month gives 28 Feb, 31 Mar, 30 Apr.
    """
    if not _is_int(cycle_months) or cycle_months < 1:
        raise ValueError(f"cycle_months must be a positive integer, got {cycle_months!r}")
    dates: list[date] = []
    k = 1
    while (nxt := add_months(start, k * cycle_months)) <= until:
        dates.append(nxt)
        k += 1
    return dates
