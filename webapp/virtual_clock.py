"""Moving the virtual clock (demo and test installations): one rule for the admin page and the API."""

from __future__ import annotations

from rectiflow.clock import MAX_DURATION, FixedClock, parse_duration
from rectiflow.errors import Conflict, InvalidInput
from rectiflow.i18n import N_, Message
from rectiflow.services import clockstore
from webapp.web import db, runtime


def advance_clock(duration: str) -> None:
    """Move the virtual clock forward (also a test/bench FixedClock, which has no shared offset)."""
    rt = runtime()
    if not rt.settings.virtual_clock:
        raise Conflict(N_("The clock is not virtual: set RECTIFLOW_CLOCK=virtual to move time."))
    try:
        delta = parse_duration(duration)
    except ValueError as exc:
        # The ValueError's words are English for the CLI's log; the reader gets the rule in their language.
        raise InvalidInput(N_("The duration is not valid."), errors={"duration": [Message(
            N_("Enter a duration such as 3d, 12h, 2w, 1d12h or P3D, at most %(days)s days."),
            days=MAX_DURATION.days)]}) from exc
    if isinstance(rt.clock, FixedClock):
        if delta.total_seconds() < 0:
            raise Conflict(N_("Time only moves forward: timers that fired cannot un-fire."))
        clockstore.check_advance(rt.clock.now(), delta)
        rt.clock.advance(delta)
        return
    clockstore.advance(db(), rt.clock, delta)
