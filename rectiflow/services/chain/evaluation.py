"""整改评估 (rectification assessment): the inspection office or the leading group scores how well a
round was rectified. The grade follows from the score; the assessments of a year go into the
leadership team's annual performance review next to the accountability outcomes, and a poor grade
starts accountability (trigger ``poor_evaluation``, once per round) through the ``accountability``
process, as the paper's "next steps" ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Accountability, Round, RoundEvaluation
from rectiflow.errors import Forbidden, InvalidInput
from rectiflow.services import audit
from rectiflow.services.chain import accountability as chain_accountability
from rectiflow.services.chain.rounds import round_and_unit

GRADES = {"excellent": "好", "good": "较好", "fair": "一般", "poor": "差"}
# Lowest score of each grade, best first (the common 90/80/60 banding of assessment schemes).
GRADE_FLOORS = (("excellent", 90), ("good", 80), ("fair", 60), ("poor", 0))
EVALUATOR_ROLES = ("inspection_office", "leading_group")
COMMENT_MAX = 4000


@dataclass(frozen=True)
class Evaluated:
    evaluation: RoundEvaluation
    accountability: Accountability | None


def grade_for(score: int) -> str:
    return next(grade for grade, floor in GRADE_FLOORS if score >= floor)


def may_evaluate(actor: Any, unit_path: str) -> bool:
    return bool(actor.acts_as(unit_path, *EVALUATOR_ROLES))


def _score(raw: Any) -> int:
    if isinstance(raw, bool):
        raise InvalidInput("the score is not a number", errors={"score": ["请输入 0 至 100 的整数"]})
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidInput("the score is not a number", errors={"score": ["请输入 0 至 100 的整数"]}) from None
    if not 0 <= value <= 100:
        raise InvalidInput("the score is out of range", errors={"score": ["请输入 0 至 100 的整数"]})
    return value


def evaluate(session: Session, rt: Any, actor: Any, round_id: Any, score: Any, comment: str = "") -> Evaluated:
    """Record an assessment; a poor one starts accountability unless this round already has such a case.
    Everything happens in the caller's transaction: a refused input writes nothing."""
    rnd, unit = round_and_unit(session, round_id)
    if not may_evaluate(actor, unit.path):
        raise Forbidden("only the inspection office or the leading group may assess a round")
    value = _score(score)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput("the comment is too long", errors={"comment": [f"最多 {COMMENT_MAX} 个字符"]})
    grade = grade_for(value)
    if grade == "poor" and not comment:
        raise InvalidInput("a poor grade needs its reasons", errors={"comment": ["评为“差”时请写明理由"]})
    now = rt.clock.now()
    row = RoundEvaluation(round_id=rnd.id, score=value, grade=grade, comment=comment, by_user=actor.user_id, at=now)
    session.add(row)
    session.flush()
    audit.record(session, at=now, actor=actor.username, action="round.evaluated", object_type="round",
                 object_id=str(rnd.id), payload={"evaluation_id": row.id, "score": value, "grade": grade})
    case = None
    if grade == "poor":
        exists = session.scalar(select(Accountability.id).where(
            Accountability.round_id == rnd.id, Accountability.trigger == "poor_evaluation"))
        if exists is None:
            case = chain_accountability.start_for_evaluation(
                session, rt, rnd, f"整改评估 {value} 分（{GRADES[grade]}）：{comment}", actor.username)
    return Evaluated(row, case)


def evaluations(session: Session, round_id: int) -> list[RoundEvaluation]:
    """A round's assessments, newest first."""
    return list(session.scalars(select(RoundEvaluation).where(RoundEvaluation.round_id == round_id)
                                .order_by(RoundEvaluation.at.desc(), RoundEvaluation.id.desc())))


def for_assessment(session: Session, unit_id: int, year: int) -> list[dict[str, Any]]:
    """The latest assessment of each of a unit's rounds in a year, for the annual performance review."""
    out = []
    for rnd in session.scalars(select(Round).where(Round.unit_id == unit_id, Round.year == year).order_by(Round.id)):
        latest = next(iter(evaluations(session, rnd.id)), None)
        if latest is not None:
            out.append({"round_id": rnd.id, "round_title": rnd.title, "score": latest.score,
                        "grade": GRADES[latest.grade], "at": latest.at.isoformat()})
    return out
