"""Translated labels for codes stored in the database (statuses, colours, notice kinds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from rectiflow.clock import BUSINESS_TZ

TASK_STATUS = {"ready": _l("Waiting"), "completed": _l("Completed"), "cancelled": _l("Cancelled")}
INSTANCE_STATUS = {
    "running": _l("Running"),
    "completed": _l("Completed"),
    "suspended": _l("Suspended"),
    "terminated": _l("Terminated"),
    "error": _l("Error"),
}
# The codes rectiflow.services.chain.rounds writes (PROBLEM_STATUSES there); a test keeps the two in step.
PROBLEM_STATUS = {
    "not_started": _l("Not started"),
    "rectifying": _l("Under rectification"),
    "awaiting_acceptance": _l("Done, awaiting acceptance"),
    "in_acceptance": _l("In acceptance"),
    "closed": _l("Closed (signed off)"),
    "ongoing": _l("Phase done, ongoing"),
    "extension_pending": _l("Extension under approval"),
    "returned": _l("Returned for rework"),
}
# Labels of the case data a task carries (rectiflow.services.workflow.projections.CONTEXT_KEYS); ids are links.
CONTEXT_LABELS = {
    "round_title": _l("Inspection round"),
    "problem_number": _l("Problem number"),
    "problem_title": _l("Problem"),
    "unit_name": _l("Unit"),
    "department_name": _l("Responsible department"),
}
COLOUR = {
    "none": _l("On track"),
    "green": _l("Green warning"),
    "yellow": _l("Yellow warning"),
    "red": _l("Red: overdue"),
    "nodate": _l("No deadline"),
}
NOTICE_KIND = {
    "warning_green": _l("Green warning"),
    "warning_yellow": _l("Yellow warning"),
    "warning_red": _l("Red warning"),
    "supervision": _l("Listed supervision"),
    "reminder": _l("Reminder"),
    "admonition": _l("Admonition"),
    "report_due": _l("Report due"),
}


def _lookup(table: Mapping[str, object]) -> Callable[[str], str]:
    return lambda code: str(table.get(code, code))


def localdt(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone(BUSINESS_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0):  # a deadline: the end of the day before
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def template_globals() -> dict[str, Callable[..., Any]]:
    return {
        "task_status": _lookup(TASK_STATUS),
        "instance_status": _lookup(INSTANCE_STATUS),
        "problem_status": _lookup(PROBLEM_STATUS),
        "colour_label": _lookup(COLOUR),
        "notice_kind": _lookup(NOTICE_KIND),
    }
