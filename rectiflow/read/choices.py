"""Filter values that are not stored codes (those are in the one vocabulary, ``rectiflow.domain.vocab``)."""

from __future__ import annotations

from enum import StrEnum


class DueWindow(StrEnum):
    """The inbox's deadline filter: already overdue, or due within the next seven days."""

    OVERDUE = "overdue"
    WEEK = "week"
