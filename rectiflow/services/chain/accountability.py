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
from rectiflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from rectiflow.services import audit

RED_THRESHOLD = 2  # red warnings across the unit's problems in one round
OUTCOMES = {"talk": "约谈", "explanation": "书面说明", "circular": "通报"}
TRIGGERS = {"repeatedly_overdue": "多次超期", "poor_evaluation": "整改评估较差", "manual": "纪委启动"}


def _accountability(session: Session, accountability_id: Any) -> Accountability:
    a = session.get(Accountability, int(accountability_id))
    if a is None:
        raise NotFound(f"accountability {accountability_id} not found")
    return a


def red_events(session: Session, round_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Problem.red_count), 0))
                              .where(Problem.round_id == round_id)) or 0)


def _start(session: Session, rt: Any, rnd: Round, trigger: str, reason: str, actor: str) -> Accountability:
    from rectiflow.services.workflow import instances

    now = rt.clock.now()
    acc = Accountability(round_id=rnd.id, unit_id=rnd.unit_id, trigger=trigger, status="open", created_at=now)
    session.add(acc)
    session.flush()
    unit = session.get(Unit, rnd.unit_id)
    audit.record(session, at=now, actor=actor, action="accountability.started", object_type="round",
                 object_id=str(rnd.id), payload={"accountability_id": acc.id, "trigger": trigger, "reason": reason})
    instances.start_instance(
        session, rt, "accountability",
        {"accountability_id": acc.id, "round_id": rnd.id, "round_title": rnd.title, "unit_id": rnd.unit_id,
         "unit_name": unit.name if unit else "", "trigger": trigger, "trigger_label": TRIGGERS[trigger],
         "reason": reason},
        actor=actor, business_key=f"accountability:{acc.id}", title=f"问责：{rnd.title}",
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
        Accountability.trigger == "repeatedly_overdue"))
    if exists is not None:
        return None
    return _start(session, rt, rnd, "repeatedly_overdue", f"本轮问题累计 {total} 次红色预警（超期）", "system")


def start_for_evaluation(session: Session, rt: Any, rnd: Round, reason: str, actor: str) -> Accountability:
    """A poor rectification assessment (``chain_evaluation``) opens a case; the caller checks it is the first."""
    return _start(session, rt, rnd, "poor_evaluation", reason, actor)


def cases(session: Session, round_id: int) -> list[Accountability]:
    return list(session.scalars(select(Accountability).where(Accountability.round_id == round_id)
                                .order_by(Accountability.id)))


def may_start(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, "discipline_committee"))


def start_accountability(session: Session, rt: Any, actor: Any, round_id: Any, reason: str) -> Accountability:
    """Started by hand by the discipline committee of (or above) the inspected unit."""
    rnd = session.get(Round, int(round_id))
    if rnd is None:
        raise NotFound(f"round {round_id} not found")
    unit = session.get(Unit, rnd.unit_id)
    assert unit is not None
    if not may_start(actor, unit.path):
        raise Forbidden("only the discipline committee over this unit may start accountability")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", errors={"reason": ["必填"]})
    return _start(session, rt, rnd, "manual", reason, actor.username)


def record_talk(session: Session, clock: Any, accountability_id: Any, talk_date: Any, participants: str,
                record: str) -> dict[str, Any]:
    a = _accountability(session, accountability_id)
    if a.status != "open":
        raise Conflict(f"accountability {a.id} is {a.status}")
    day = talk_date if isinstance(talk_date, date) else date.fromisoformat(str(talk_date))
    a.talk_record = f"约谈日期：{day.isoformat()}\n参加人员：{participants}\n约谈记录：{record}"
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
        raise Conflict(f"unknown outcome {outcome}")
    a = _accountability(session, accountability_id)
    now = clock.now()
    a.outcome, a.status, a.closed_at = OUTCOMES[outcome], "closed", now
    audit.record(session, at=now, actor=actor, action="accountability.closed", object_type="round",
                 object_id=str(a.round_id), payload={"accountability_id": a.id, "outcome": a.outcome, "note": note})
    session.flush()
    return {"outcome": a.outcome, "status": a.status}


def for_assessment(session: Session, unit_id: int, year: int) -> list[dict[str, Any]]:
    """Outcomes of a unit's closed accountability cases in a year, for the annual assessment."""
    rows = session.scalars(select(Accountability).join(Round, Round.id == Accountability.round_id)
                           .where(Accountability.unit_id == unit_id, Round.year == year,
                                  Accountability.status == "closed").order_by(Accountability.id))
    return [{"id": a.id, "round_id": a.round_id, "trigger": a.trigger, "outcome": a.outcome,
             "closed_at": a.closed_at.isoformat() if a.closed_at else None} for a in rows]
