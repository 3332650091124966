"""整改评估 (SQLite and PostgreSQL): the grade follows the score, bad input writes nothing, only the
inspection office or the leading group assess, and a poor grade starts accountability once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rectiflow.db.audit import AuditEvent
from rectiflow.db.domain import Accountability, RoundEvaluation
from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.errors import Forbidden, InvalidInput
from rectiflow.services.chain import evaluation as chain_evaluation
from scenarios.test_round import open_round


def evaluate(rt, org, who, round_id, score, comment=""):
    with rt.sessions.begin() as s:
        return chain_evaluation.evaluate(s, rt, org["actors"][who], round_id, score, comment)


def counts(rt):
    with rt.reads() as s:
        return (s.scalar(select(func.count()).select_from(RoundEvaluation)),
                s.scalar(select(func.count()).select_from(Accountability)),
                s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "round.evaluated")))


@pytest.mark.parametrize(("score", "grade"), [(100, "excellent"), (90, "excellent"), (89, "good"), (80, "good"),
                                              (79, "fair"), (60, "fair"), (59, "poor"), (0, "poor")])
def test_grade_bands(score, grade):
    assert chain_evaluation.grade_for(score) == grade


def test_assessment_recorded_and_a_poor_one_starts_accountability_once(rt, chain):
    org = chain
    round_id, _ = open_round(rt, org)
    done = evaluate(rt, org, "office", round_id, "85", "整改总体较好")
    assert (done.evaluation.score, done.evaluation.grade, done.accountability) == (85, "good", None)
    assert counts(rt) == (1, 0, 1)
    poor = evaluate(rt, org, "office", round_id, 45, "多个问题超期，整改流于形式")
    assert poor.evaluation.grade == "poor" and poor.accountability is not None
    with rt.reads() as s:
        case = s.get(Accountability, poor.accountability.id)
        assert case.trigger == "poor_evaluation" and case.status == "open"
        inst = s.scalar(select(ProcessInstance).where(ProcessInstance.business_key == f"accountability:{case.id}"))
        assert inst.status == "running"
        roles = s.scalars(select(UserTask.role).where(UserTask.instance_id == inst.id, UserTask.status == "ready"))
        assert "discipline_committee" in set(roles)
        assert [e.score for e in chain_evaluation.evaluations(s, round_id)] == [45, 85]  # newest first
        [latest] = chain_evaluation.for_assessment(s, case.unit_id, 2025)
        assert (latest["score"], latest["grade"]) == (45, "差")
    again = evaluate(rt, org, "office", round_id, 30, "仍未改进")
    assert again.accountability is None  # one case per round for this trigger
    assert counts(rt) == (3, 1, 3)


@pytest.mark.parametrize(("score", "comment", "field"), [
    ("abc", "", "score"), ("101", "", "score"), ("-1", "", "score"), ("", "", "score"), (True, "", "score"),
    ("55", "", "comment"),  # a poor grade needs its reasons
    ("95", "长" * 4001, "comment"),
])
def test_bad_input_names_the_field_and_writes_nothing(rt, chain, score, comment, field):
    org = chain
    round_id, _ = open_round(rt, org)
    with pytest.raises(InvalidInput) as exc:
        evaluate(rt, org, "office", round_id, score, comment)
    assert field in exc.value.errors
    assert counts(rt) == (0, 0, 0)


def test_only_the_inspection_office_or_the_leading_group_assess(rt, chain):
    org = chain
    round_id, _ = open_round(rt, org)
    for who in ("a_fin", "a_rect", "a_jw", "b_rect"):
        with pytest.raises(Forbidden):
            evaluate(rt, org, who, round_id, 90)
    evaluate(rt, org, "leader", round_id, 92)
    assert counts(rt) == (1, 0, 1)
