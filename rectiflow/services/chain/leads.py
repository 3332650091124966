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
from rectiflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from rectiflow.services import audit
from rectiflow.services.chain.rounds import round_and_unit

RECEIVERS = {"discipline_committee": "纪检监察机构", "organisation_department": "组织部门", "other": "其他有关部门"}
STATUSES = {"referred": "已移交", "verifying": "核查中", "concluded": "已办结"}
# Who may see the leads of a round: the roles that handle them, on the inspected unit or above it.
VIEWER_ROLES = ("inspection_office", "leading_group", "discipline_committee")
SUMMARY_MAX = 2000
OUTCOME_MAX = 4000


def may_see(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, *VIEWER_ROLES))


def may_refer(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, "inspection_office"))


def may_follow_up(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, "discipline_committee", "inspection_office"))


def refer(session: Session, clock: Any, actor: Any, round_id: Any, summary: str, receiver: str,
          referred_on: Any) -> LeadReferral:
    """Record a lead handed over. Validates everything before writing; a refusal writes nothing."""
    rnd, unit = round_and_unit(session, round_id)
    if not may_refer(actor, unit.path):
        raise Forbidden("only the inspection office hands leads over")
    errors: dict[str, list[str]] = {}
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = ["必填"]
    elif len(summary) > SUMMARY_MAX:
        errors["summary"] = [f"最多 {SUMMARY_MAX} 个字符"]
    if receiver not in RECEIVERS:
        errors["receiver"] = ["请从选项中选择"]
    day: date | None = None
    try:
        day = referred_on if isinstance(referred_on, date) else date.fromisoformat(str(referred_on or "").strip())
    except ValueError:
        errors["referred_on"] = ["请输入有效日期"]
    if day is not None and day > clock.today():
        errors["referred_on"] = ["移交日期不能晚于今天"]
    if errors:
        raise InvalidInput("the lead cannot be recorded", errors=errors)
    assert day is not None
    now = clock.now()
    number = (session.scalar(select(func.count()).select_from(LeadReferral)
                             .where(LeadReferral.round_id == rnd.id)) or 0) + 1
    row = LeadReferral(round_id=rnd.id, number=number, summary=summary, receiver=receiver, referred_on=day,
                       status="referred", outcome="", recorded_by=actor.user_id, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    # The audit event names the lead, never its content: the log is read more widely than the leads.
    audit.record(session, at=now, actor=actor.username, action="lead.referred", object_type="round",
                 object_id=str(rnd.id), payload={"lead_id": row.id, "number": number, "receiver": receiver})
    return row


def follow_up(session: Session, clock: Any, actor: Any, lead_id: Any, status: str, outcome: str) -> LeadReferral:
    row = session.get(LeadReferral, int(lead_id))
    if row is None:
        raise NotFound("lead not found")
    _rnd, unit = round_and_unit(session, row.round_id)
    if not may_see(actor, unit.path):
        raise NotFound("lead not found")
    if not may_follow_up(actor, unit.path):
        raise Forbidden("only the discipline committee or the inspection office records the follow-up")
    if row.status == "concluded":
        raise Conflict("this lead is already concluded")
    errors: dict[str, list[str]] = {}
    if status not in ("verifying", "concluded"):
        errors["status"] = ["请从选项中选择"]
    outcome = (outcome or "").strip()
    if status == "concluded" and not outcome:
        errors["outcome"] = ["办结时请填写处理结果"]
    if len(outcome) > OUTCOME_MAX:
        errors["outcome"] = [f"最多 {OUTCOME_MAX} 个字符"]
    if errors:
        raise InvalidInput("the follow-up cannot be recorded", errors=errors)
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
