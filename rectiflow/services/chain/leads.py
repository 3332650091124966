"""问题线索移交 (leads handed over): clues about individual leaders found during an inspection go to
the discipline committee or the organisation department, separately from the problem list. They are
counted separately and are confidential: only the inspection office, the leading group and the
discipline committee over the inspected unit (and administrators) see them; the rectification office
and the departments never do. The receiving side records verification and the outcome.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectiflow.db.domain import LeadReferral, Round
from rectiflow.db.org import Unit
from rectiflow.domain import vocab as v
from rectiflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from rectiflow.forms.messages import FORM_MESSAGES
from rectiflow.i18n import N_, Message
from rectiflow.services import audit
from rectiflow.services.chain.rounds import round_and_unit

RECEIVERS = v.LeadReceiver.codes()
# Who may see the leads of a round: the roles that handle them, on the inspected unit or above it.
VIEWER_ROLES = (v.Role.INSPECTION_OFFICE, v.Role.LEADING_GROUP, v.Role.DISCIPLINE_COMMITTEE)
SUMMARY_MAX = 2000
OUTCOME_MAX = 4000


def may_see(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, *VIEWER_ROLES))


def may_refer(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, v.Role.INSPECTION_OFFICE))


def may_follow_up(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, v.Role.DISCIPLINE_COMMITTEE, v.Role.INSPECTION_OFFICE))


def refer(session: Session, clock: Any, actor: Any, round_id: Any, summary: str, receiver: str,
          referred_on: Any) -> LeadReferral:
    """Record a lead handed over. Validates everything before writing; a refusal writes nothing."""
    rnd, unit = round_and_unit(session, round_id)
    if not may_refer(actor, unit.path):
        raise Forbidden(N_("Only the inspection office hands leads over."))
    errors: dict[str, list[Message]] = {}
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = [Message(FORM_MESSAGES["required"])]
    elif len(summary) > SUMMARY_MAX:
        errors["summary"] = [Message(FORM_MESSAGES["maxLength"], limit=SUMMARY_MAX)]
    if receiver not in RECEIVERS:
        errors["receiver"] = [Message(FORM_MESSAGES["enum"])]
    day: date | None = None
    try:
        day = referred_on if isinstance(referred_on, date) else date.fromisoformat(str(referred_on or "").strip())
    except ValueError:
        errors["referred_on"] = [Message(FORM_MESSAGES["format_date"])]
    if day is not None and day > clock.today():
        errors["referred_on"] = [Message(N_("The hand-over date cannot be later than today."))]
    if errors:
        raise InvalidInput(N_("The lead cannot be recorded."), errors=errors)
    assert day is not None
    now = clock.now()
    number = (session.scalar(select(func.count()).select_from(LeadReferral)
                             .where(LeadReferral.round_id == rnd.id)) or 0) + 1
    row = LeadReferral(round_id=rnd.id, number=number, summary=summary, receiver=receiver, referred_on=day,
                       status=v.LeadStatus.REFERRED, outcome="", recorded_by=actor.user_id, created_at=now,
                       updated_at=now)
    session.add(row)
    session.flush()
    # The audit event names the lead, never its content: the log is read more widely than the leads.
    audit.record(session, at=now, actor=actor.username, action="lead.referred", object_type="round",
                 object_id=str(rnd.id), payload={"lead_id": row.id, "number": number, "receiver": receiver})
    return row


def follow_up(session: Session, clock: Any, actor: Any, lead_id: Any, status: str, outcome: str) -> LeadReferral:
    row = session.get(LeadReferral, int(lead_id))
    if row is None:
        raise NotFound(N_("Lead not found."))
    _rnd, unit = round_and_unit(session, row.round_id)
    if not may_see(actor, unit.path):
        raise NotFound(N_("Lead not found."))
    if not may_follow_up(actor, unit.path):
        raise Forbidden(N_("Only the discipline committee or the inspection office records the follow-up."))
    if row.status == v.LeadStatus.CONCLUDED:
        raise Conflict(N_("This lead is already concluded."))
    errors: dict[str, list[Message]] = {}
    if status not in (v.LeadStatus.VERIFYING, v.LeadStatus.CONCLUDED):
        errors["status"] = [Message(FORM_MESSAGES["enum"])]
    outcome = (outcome or "").strip()
    if status == v.LeadStatus.CONCLUDED and not outcome:
        errors["outcome"] = [Message(N_("Write down the outcome when the lead is concluded."))]
    if len(outcome) > OUTCOME_MAX:
        errors["outcome"] = [Message(FORM_MESSAGES["maxLength"], limit=OUTCOME_MAX)]
    if errors:
        raise InvalidInput(N_("The follow-up cannot be recorded."), errors=errors)
    now = clock.now()
    row.status, row.outcome, row.updated_at = status, outcome or row.outcome, now
    session.flush()
    audit.record(session, at=now, actor=actor.username, action=f"lead.{status}", object_type="round",
                 object_id=str(row.round_id), payload={"lead_id": row.id, "number": row.number})
    return row


def leads(session: Session, actor: Any, round_id: int) -> list[LeadReferral] | None:
    """The round's leads, or None when the actor may not see them (the page then shows nothing)."""
    _rnd, unit = round_and_unit(session, round_id)
    if not may_see(actor, unit.path):
        return None
    return list(session.scalars(select(LeadReferral).where(LeadReferral.round_id == round_id)
                                .order_by(LeadReferral.number)))


def count_visible(session: Session, actor: Any, round_ids: list[int]) -> int | None:
    """How many leads the actor may count among these rounds; None when they may see none of them."""
    if not round_ids:
        return None
    rows = session.execute(select(Round.id, Unit.path).join(Unit, Unit.id == Round.unit_id)
                           .where(Round.id.in_(round_ids))).all()
    allowed = [rid for rid, path in rows if may_see(actor, path)]
    if not allowed:
        return None
    return int(session.scalar(select(func.count()).select_from(LeadReferral)
                              .where(LeadReferral.round_id.in_(allowed))) or 0)
