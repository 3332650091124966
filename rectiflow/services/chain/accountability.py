"""问责 (accountability): for a unit whose problems went red at least twice in a round, or when the
discipline committee starts it, an ``accountability`` instance runs the talk with the principal
leader (约谈, recorded by the discipline committee), the leader's written explanation (书面说明) and
the recorded outcome (约谈 / 书面说明 / 通报) that feeds the leadership team's annual assessment.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Accountability, Problem, Round
from rectiflow.db.org import Unit
from rectiflow.domain import vocab as v
from rectiflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from rectiflow.i18n import N_, Message, translate
from rectiflow.services import audit

RED_THRESHOLD = 2  # red warnings across the unit's problems in one round
OUTCOMES = v.AccountabilityOutcome.codes()  # stored as codes; labels from the vocabulary
DOC_LOCALE = "zh_CN"  # labels carried in process data are read in Chinese task forms


def _accountability(session: Session, accountability_id: Any) -> Accountability:
    a = session.get(Accountability, int(accountability_id))
    if a is None:
        raise NotFound(N_("Accountability case %(id)s not found."), id=accountability_id)
    return a


def red_events(session: Session, round_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Problem.red_count), 0))
                              .where(Problem.round_id == round_id)) or 0)


def _start(session: Session, rt: Any, rnd: Round, trigger: str, reason: str, actor: str) -> Accountability:
    from rectiflow.services.workflow import instances

    now = rt.clock.now()
    acc = Accountability(round_id=rnd.id, unit_id=rnd.unit_id, trigger=trigger, status=v.AccountabilityStatus.OPEN,
                         created_at=now)
    session.add(acc)
    session.flush()
    unit = session.get(Unit, rnd.unit_id)
    audit.record(session, at=now, actor=actor, action="accountability.started", object_type="round",
                 object_id=str(rnd.id), payload={"accountability_id": acc.id, "trigger": trigger, "reason": reason})
    instances.start_instance(
        session, rt, "accountability",
        {"accountability_id": acc.id, "round_id": rnd.id, "round_title": rnd.title, "unit_id": rnd.unit_id,
         "unit_name": unit.name if unit else "", "trigger": trigger,
         "trigger_label": v.AccountabilityTrigger(trigger).label(DOC_LOCALE),
         "reason": reason},
        actor=actor, business_key=f"accountability:{acc.id}",
        title=translate(DOC_LOCALE, N_("Accountability: %(round)s"), round=rnd.title),
        unit_id=rnd.unit_id, parent_id=rnd.instance_id)
    return acc


def maybe_start_for_red(session: Session, rt: Any, problem_id: Any) -> Accountability | None:
    """After a red warning: start once per round when the unit reached the threshold."""
    p = session.get(Problem, int(problem_id))
    if p is None:
        return None
    rnd = p.round
    total = red_events(session, rnd.id)
    if total < RED_THRESHOLD:
        return None
    exists = session.scalar(select(Accountability.id).where(
        Accountability.round_id == rnd.id, Accountability.unit_id == rnd.unit_id,
        Accountability.trigger == v.AccountabilityTrigger.REPEATEDLY_OVERDUE))
    if exists is not None:
        return None
    return _start(session, rt, rnd, v.AccountabilityTrigger.REPEATEDLY_OVERDUE,
                  translate(DOC_LOCALE, N_("%(count)s red warnings (overdue) on this round's problems"),
                            count=total), "system")


def start_for_evaluation(session: Session, rt: Any, rnd: Round, reason: str, actor: str) -> Accountability:
    """A poor rectification assessment (``chain_evaluation``) opens a case; the caller checks it is the first."""
    return _start(session, rt, rnd, v.AccountabilityTrigger.POOR_EVALUATION, reason, actor)


def cases(session: Session, round_id: int) -> list[Accountability]:
    return list(session.scalars(select(Accountability).where(Accountability.round_id == round_id)
                                .order_by(Accountability.id)))


def may_start(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, v.Role.DISCIPLINE_COMMITTEE))


def start_accountability(session: Session, rt: Any, actor: Any, round_id: Any, reason: str) -> Accountability:
    """Started by hand by the discipline committee of (or above) the inspected unit."""
    rnd = session.get(Round, int(round_id))
    if rnd is None:
        raise NotFound(N_("Round %(id)s not found."), id=round_id)
    unit = session.get(Unit, rnd.unit_id)
    assert unit is not None
    if not may_start(actor, unit.path):
        raise Forbidden(N_("Only the discipline committee over this unit may start accountability."))
    if not (reason or "").strip():
        raise InvalidInput(N_("A reason is required."), errors={"reason": [Message(N_("Required."))]})
    return _start(session, rt, rnd, v.AccountabilityTrigger.MANUAL, reason, actor.username)


def record_talk(session: Session, clock: Any, accountability_id: Any, talk_date: Any, participants: str,
                record: str) -> dict[str, Any]:
    a = _accountability(session, accountability_id)
    if a.status != v.AccountabilityStatus.OPEN:
        raise Conflict(N_("Accountability case %(id)s is %(accountability_status)s."), id=a.id,
                       accountability_status=a.status)
    day = talk_date if isinstance(talk_date, date) else date.fromisoformat(str(talk_date))
    a.talk_record = translate(DOC_LOCALE, N_("Date of the talk: %(day)s\nParticipants: %(participants)s\n"
                                             "Record: %(record)s"),
                              day=day.isoformat(), participants=participants, record=record)
    session.flush()
    return {"talk_record": a.talk_record}


def record_explanation(session: Session, accountability_id: Any, explanation: str) -> dict[str, Any]:
    a = _accountability(session, accountability_id)
    a.explanation = explanation or ""
    session.flush()
    return {"explanation": a.explanation}


def record_outcome(session: Session, clock: Any, accountability_id: Any, outcome: str, note: str = "",
                   actor: str = "system") -> dict[str, Any]:
    if outcome not in OUTCOMES:
        raise Conflict(N_("Unknown outcome %(outcome)s."), outcome=outcome)
    a = _accountability(session, accountability_id)
    now = clock.now()
    a.outcome, a.status, a.closed_at = outcome, v.AccountabilityStatus.CLOSED, now
    audit.record(session, at=now, actor=actor, action="accountability.closed", object_type="round",
                 object_id=str(a.round_id), payload={"accountability_id": a.id, "outcome": a.outcome, "note": note})
    session.flush()
    return {"outcome": a.outcome, "status": a.status}


def for_assessment(session: Session, unit_id: int, year: int) -> list[dict[str, Any]]:
    """Outcomes of a unit's closed accountability cases in a year, for the annual assessment."""
    rows = session.scalars(select(Accountability).join(Round, Round.id == Accountability.round_id)
                           .where(Accountability.unit_id == unit_id, Round.year == year,
                                  Accountability.status == v.AccountabilityStatus.CLOSED)
                           .order_by(Accountability.id))
    return [{"id": a.id, "round_id": a.round_id, "trigger": a.trigger, "outcome": a.outcome,
             "outcome_label": v.AccountabilityOutcome.label_of(a.outcome, DOC_LOCALE),
             "closed_at": a.closed_at.isoformat() if a.closed_at else None} for a in rows]
