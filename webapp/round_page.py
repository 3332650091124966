"""The round page (巡察轮次: feedback, plan, the three lists, report milestones and the oversight card),
rendered by the round view and again by the oversight view when it refuses a form (422, with the
values and messages at the field). A module of its own so that neither view imports the other."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy import select

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.domain import Measure, ReportMilestone, Round
from rectiflow.db.org import Unit, User
from rectiflow.domain.vocab import (
    AccountabilityStatus,
    AccountabilityTrigger,
    EvaluationGrade,
    LeadReceiver,
    LeadStatus,
    ReportKind,
    ReportStatus,
    RoundStatus,
)
from rectiflow.read.rounds import round_problems, sees_whole_round, taxonomy_labels, visible_round
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.chain import accountability as chain_accountability
from rectiflow.services.chain import evaluation as chain_evaluation
from rectiflow.services.chain import leads as chain_leads
from webapp.labels import labels_of
from webapp.web import actor, db, runtime


def oversight_panel(rnd: Round, unit: Unit, a: Actor, form: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the round page shows in its oversight card, or None for a department that only sees its
    own problems (assessments and accountability concern the unit's leadership)."""
    if not sees_whole_round(a, unit):
        return None
    s = db()
    evaluations = chain_evaluation.evaluations(s, rnd.id)
    ids = {e.by_user for e in evaluations if e.by_user}
    names = dict(s.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return {
        "evaluations": evaluations,
        "names": names,
        "cases": chain_accountability.cases(s, rnd.id),
        "may_evaluate": chain_evaluation.may_evaluate(a, unit.path),
        "may_start": chain_accountability.may_start(a, unit.path),
        "grades": labels_of(EvaluationGrade),
        "triggers": labels_of(AccountabilityTrigger),
        "case_status": labels_of(AccountabilityStatus),
        "leads": chain_leads.leads(s, a, rnd.id),  # None: not for this viewer
        "may_refer": chain_leads.may_refer(a, unit.path),
        "may_follow_up": chain_leads.may_follow_up(a, unit.path),
        "receivers": labels_of(LeadReceiver),
        "lead_status": labels_of(LeadStatus),
        "form": form or {},
    }


def round_page(round_id: int, oversight_form: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The round page; ``oversight_form`` carries a refused assessment or accountability form back
    with its values and messages (``webapp.views.round_oversight``)."""
    a, s = actor(), db()
    rnd, unit = visible_round(s, a, round_id)
    problems = round_problems(s, a, rnd, unit)
    pids = [p.id for p in problems]
    measures = (list(s.scalars(select(Measure).where(Measure.problem_id.in_(pids)).order_by(Measure.seq)))
                if pids else [])
    by_problem: dict[int, list[Measure]] = {}
    for m in measures:
        by_problem.setdefault(m.problem_id, []).append(m)
    unit_ids = {m.department_id for m in measures} | {p.department_id for p in problems if p.department_id}
    units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    user_ids = {m.leader_id for m in measures if m.leader_id} | {m.owner_id for m in measures if m.owner_id}
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    milestones = list(
        s.scalars(select(ReportMilestone).where(ReportMilestone.round_id == rnd.id).order_by(ReportMilestone.due_date))
    )
    return render_template(
        "round.html",
        rnd=rnd,
        unit=unit,
        problems=problems,
        measures=by_problem,
        units=units,
        users=users,
        milestones=milestones,
        categories=taxonomy_labels(rnd.taxonomy),
        today=runtime().clock.now().astimezone(BUSINESS_TZ).date(),
        round_status=labels_of(RoundStatus),
        report_kinds=labels_of(ReportKind),
        report_status=labels_of(ReportStatus),
        oversight=oversight_panel(rnd, unit, a, oversight_form),
    ), status
