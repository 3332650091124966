"""How a task's deadline reads on a page: the core's ``Due`` (colour, days left) with its label."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from rectiflow.read.inbox import Due


@dataclass(frozen=True)
class DueLabel:
    colour: str
    label: str
    days: int | None


def labelled(due: Due) -> DueLabel:
    if due.days is None:
        label = _("No deadline")
    elif due.days < 0:
        label = ngettext("%(num)d day overdue", "%(num)d days overdue", -due.days)
    elif due.days == 0:
        label = _("Due today")
    else:
        label = ngettext("%(num)d day left", "%(num)d days left", due.days)
    return DueLabel(due.colour, label, due.days)
