"""沟通协调: the unit rectification office's coordination meetings on a cadence.

Each meeting is its own short ``meeting`` instance: it waits for its date, asks the rectification
office for the minutes and decisions (a ``Meeting`` row) and starts the next meeting, dated from the
scheduled date (so the cadence does not drift), while the round is still open. The round starts the
first one when rectification begins. No instance loops.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Meeting
from rectiflow.db.org import Unit
from rectiflow.db.runtime import ProcessInstance
from rectiflow.domain import vocab as v
from rectiflow.i18n import N_, default_locale, translate
from rectiflow.services.chain.rounds import get_round

DEFAULT_CADENCE_DAYS = 30




def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def schedule_meeting(session: Session, rt: Any, round_id: Any, meeting_no: int, meeting_date: Any,
                     cadence_days: Any, actor: str = "system") -> int | None:
    """Start meeting ``meeting_no`` (idempotent by business key); None once the round is closed."""
    from rectiflow.services.workflow import instances

    r = get_round(session, round_id)
    if r.status == v.RoundStatus.CLOSED:
        return None
    key = f"meeting:{r.id}:{meeting_no}"
    existing = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == key))
    if existing is not None:
        return int(existing)
    unit = session.get(Unit, r.unit_id)
    cadence = int(cadence_days or DEFAULT_CADENCE_DAYS)
    inst = instances.start_instance(
        session, rt, "meeting",
        {"round_id": r.id, "round_title": r.title, "unit_id": r.unit_id, "unit_name": unit.name if unit else "",
         "meeting_no": meeting_no, "meeting_date": _day(meeting_date).isoformat(), "cadence_days": cadence},
        actor=actor, business_key=key,
        title=translate(default_locale(), N_("Rectification coordination meeting (no. %(no)s): %(round)s"),
                        no=meeting_no, round=r.title),
        unit_id=r.unit_id, parent_id=r.instance_id)
    return inst.id


def first_meeting(session: Session, rt: Any, round_id: Any, cadence_days: Any) -> dict[str, Any]:
    cadence = int(cadence_days or DEFAULT_CADENCE_DAYS)
    day = rt.clock.today() + timedelta(days=cadence)
    iid = schedule_meeting(session, rt, round_id, 1, day, cadence)
    return {"instance_id": iid, "meeting_date": day.isoformat(), "cadence_days": cadence}


def round_open(session: Session, round_id: Any) -> bool:
    return get_round(session, round_id).status != v.RoundStatus.CLOSED


def record_meeting(session: Session, rt: Any, round_id: Any, held_on: Any, minutes: str, decisions: str,
                   meeting_no: int, meeting_date: Any, cadence_days: Any) -> dict[str, Any]:
    r = get_round(session, round_id)
    m = Meeting(round_id=r.id, held_on=_day(held_on), minutes=minutes or "", decisions=decisions or "",
                created_at=rt.clock.now())
    session.add(m)
    session.flush()
    cadence = int(cadence_days or DEFAULT_CADENCE_DAYS)
    nxt = _day(meeting_date) + timedelta(days=cadence)
    iid = schedule_meeting(session, rt, r.id, int(meeting_no) + 1, nxt, cadence)
    return {"meeting_id": m.id, "next_date": nxt.isoformat() if iid else None, "next_instance": iid}


def meetings_of(session: Session, round_id: int) -> list[Meeting]:
    return list(session.scalars(select(Meeting).where(Meeting.round_id == round_id).order_by(Meeting.held_on)))
