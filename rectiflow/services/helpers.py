"""Functions a diagram's expressions and scripts may call (the sandbox's whitelist)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from rectiflow.clock import Clock
from rectiflow.domain import deadlines


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def script_helpers(clock: Clock) -> dict[str, Callable[..., Any]]:
    def deadline_timer(day: Any) -> str:
        """Timer text for 'when the business day ``day`` has ended' (red: overdue)."""
        return deadlines.timer_expression(deadlines.due_instant(_as_date(day)))

    def notice_timer(day: Any, days_before: int = 0) -> str:
        """Timer text for 09:00 (Beijing) ``days_before`` days before ``day``."""
        from datetime import timedelta

        return deadlines.timer_expression(deadlines.notice_instant(_as_date(day) - timedelta(days=days_before)))

    def add_months(day: Any, months: int) -> str:
        return deadlines.add_months(_as_date(day), int(months)).isoformat()

    def today() -> str:
        return clock.today().isoformat()

    def days_left(day: Any) -> int:
        return (_as_date(day) - clock.today()).days

    return {
        "deadline_timer": deadline_timer,
        "notice_timer": notice_timer,
        "add_months": add_months,
        "today": today,
        "days_left": days_left,
        "as_date": lambda v: _as_date(v).isoformat(),
    }
