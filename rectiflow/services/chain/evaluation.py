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
from rectiflow.domain import vocab as v
from rectiflow.errors import Forbidden, InvalidInput
from rectiflow.i18n import N_, Message, translate
from rectiflow.services import audit
from rectiflow.services.chain import accountability as chain_accountability
from rectiflow.services.chain.rounds import round_and_unit

DOC_LOCALE = "zh_CN"  # grades quoted in a case's reason and in the annual review are Chinese text
# Lowest score of each grade, best first (the common 90/80/60 banding of assessment schemes).
GRADE_FLOORS = ((v.EvaluationGrade.EXCELLENT, 90), (v.EvaluationGrade.GOOD, 80), (v.EvaluationGrade.FAIR, 60),
                (v.EvaluationGrade.POOR, 0))
EVALUATOR_ROLES = (v.Role.INSPECTION_OFFICE, v.Role.LEADING_GROUP)
COMMENT_MAX = 4000
_SCORE_RANGE = Message(N_("Enter a whole number from 0 to 100."))


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
        raise InvalidInput(N_("The score is not a number."), errors={"score": [_SCORE_RANGE]})
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidInput(N_("The score is not a number."), errors={"score": [_SCORE_RANGE]}) from None
    if not 0 <= value <= 100:
        raise InvalidInput(N_("The score is out of range."), errors={"score": [_SCORE_RANGE]})
    return value


def evaluate(session: Session, rt: Any, actor: Any, round_id: Any, score: Any, comment: str = "") -> Evaluated:
    """Record an assessment; a poor one starts accountability unless this round already has such a case.
    Everything happens in the caller's transaction: a refused input writes nothing."""
    rnd, unit = round_and_unit(session, round_id)
    if not may_evaluate(actor, unit.path):
        raise Forbidden(N_("Only the inspection office or the leading group may assess a round."))
    value = _score(score)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(N_("The comment is too long."),
                           errors={"comment": [Message(N_("At most %(n)d characters."), n=COMMENT_MAX)]})
    grade = grade_for(value)
    if grade == v.EvaluationGrade.POOR and not comment:
        raise InvalidInput(N_("A poor grade needs its reasons."),
                           errors={"comment": [Message(N_("Give the reasons for a grade of “poor”."))]})
    now = rt.clock.now()
    row = RoundEvaluation(round_id=rnd.id, score=value, grade=grade, comment=comment, by_user=actor.user_id, at=now)
    session.add(row)
    session.flush()
    audit.record(session, at=now, actor=actor.username, action="round.evaluated", object_type="round",
                 object_id=str(rnd.id), payload={"evaluation_id": row.id, "score": value, "grade": grade})
    case = None
    if grade == v.EvaluationGrade.POOR:
        exists = session.scalar(select(Accountability.id).where(
            Accountability.round_id == rnd.id, Accountability.trigger == v.AccountabilityTrigger.POOR_EVALUATION))
        if exists is None:
            grade_label = v.EvaluationGrade(grade).label(DOC_LOCALE)
            case = chain_accountability.start_for_evaluation(
                session, rt, rnd, translate(DOC_LOCALE, N_("Rectification assessment: %(score)s points (%(grade)s): "
                                                           "%(comment)s"), score=value, grade=grade_label,
                                            comment=comment), actor.username)
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
                        "grade": v.EvaluationGrade.label_of(latest.grade, DOC_LOCALE), "at": latest.at.isoformat()})
    return out
