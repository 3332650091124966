"""Instances, problems, rounds (create, list, detail) and the clock."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from rectiflow.db.domain import Problem, ReportMilestone, Round
from rectiflow.db.org import Unit
from rectiflow.db.runtime import Timer, UserTask
from rectiflow.services.chain import rounds as chain
from webapp.api import blp
from webapp.api.auth import token_required
from webapp.api.schemas import (
    AdvanceRequest,
    ClockSchema,
    InstanceSchema,
    ProblemQuery,
    ProblemSchema,
    RoundCreated,
    RoundCreateRequest,
    RoundDetailSchema,
    RoundSchema,
)
from webapp.api.tasks import task_dict
from webapp.views.instances import visible_instance
from webapp.views.ledger import problem_query, scope_condition, visible_problem
from webapp.views.rounds import visible_round, visible_rounds
from webapp.web import actor, db, runtime


@blp.route("/instances/<int:instance_id>")
class Instance(MethodView):
    @blp.response(200, InstanceSchema)
    @token_required
    def get(self, instance_id: int) -> Any:
        inst, _unit = visible_instance(instance_id, actor())
        s = db()
        ready = s.scalars(select(UserTask).where(UserTask.instance_id == inst.id, UserTask.status == "ready"))
        timers = s.scalars(select(Timer).where(Timer.instance_id == inst.id, Timer.status == "waiting"))
        return {
            c: getattr(inst, c)
            for c in (
                "id",
                "process_key",
                "business_key",
                "title",
                "status",
                "version",
                "unit_id",
                "created_at",
                "completed_at",
            )
        } | {"ready_tasks": [task_dict(t) for t in ready], "timers": list(timers)}


@blp.route("/problems")
class Problems(MethodView):
    @blp.arguments(ProblemQuery, location="query")
    @blp.response(200, ProblemSchema(many=True))
    @token_required
    def get(self, args: dict[str, Any]) -> Any:
        q = problem_query(actor(), args).order_by(Problem.round_id, Problem.sort_key).limit(1000)
        return list(db().scalars(q))


@blp.route("/problems/<int:problem_id>")
class ProblemDetail(MethodView):
    @blp.response(200, ProblemSchema)
    @token_required
    def get(self, problem_id: int) -> Any:
        return visible_problem(problem_id, actor())


def round_dict(rnd: Round, unit: Unit) -> dict[str, Any]:
    return {c: getattr(rnd, c) for c in ("id", "year", "number", "title", "team", "unit_id", "feedback_date",
                                         "status", "instance_id", "created_at", "closed_at")} | {
        "unit_code": unit.code, "unit_name": unit.name}


@blp.route("/rounds")
class Rounds(MethodView):
    @blp.response(200, RoundSchema(many=True))
    @token_required
    def get(self) -> Any:
        rows = sorted(visible_rounds(actor()), key=lambda ru: (-ru[0].year, -ru[0].number, -ru[0].id))
        return [round_dict(r, u) for r, u in rows]

    @blp.arguments(RoundCreateRequest)
    @blp.response(201, RoundCreated)
    @token_required
    def post(self, body: dict[str, Any]) -> Any:
        a = actor()
        a.require_role("inspection_office")
        problems = [{k: v for k, v in p.items() if v not in (None, "")} for p in body["problems"]]
        rnd = chain.create_round(
            db(), runtime(), actor=a, unit_code=body["unit"], year=body["year"], number=body["number"],
            title=body["title"], team=body["team"], feedback_date=body["feedback_date"],
            feedback_text=body["feedback_text"], schedule_preset=body["schedule_preset"], problems=problems,
        )
        return {"id": rnd.id, "instance_id": rnd.instance_id}


@blp.route("/rounds/<int:round_id>")
class RoundDetail(MethodView):
    @blp.response(200, RoundDetailSchema)
    @token_required
    def get(self, round_id: int) -> Any:
        a, s = actor(), db()
        rnd, unit = visible_round(round_id, a)
        q = select(Problem).where(Problem.round_id == rnd.id).order_by(Problem.sort_key)
        if not (a.is_admin or a.can_see(unit.path)):  # a department sees only its own problems
            q = q.where(scope_condition(a))
        milestones = s.scalars(
            select(ReportMilestone).where(ReportMilestone.round_id == rnd.id).order_by(ReportMilestone.due_date)
        )
        return round_dict(rnd, unit) | {"feedback_text": rnd.feedback_text, "problems": list(s.scalars(q)),
                                        "milestones": list(milestones)}


@blp.route("/clock")
class ClockView(MethodView):
    @blp.response(200, ClockSchema)
    @token_required
    def get(self) -> Any:
        rt = runtime()
        return {"now": rt.clock.now(), "virtual": rt.settings.virtual_clock}


@blp.route("/clock/advance")
class ClockAdvance(MethodView):
    @blp.arguments(AdvanceRequest)
    @blp.response(200, ClockSchema)
    @token_required
    def post(self, body: dict[str, Any]) -> Any:
        from webapp.views.admin import advance_clock

        actor().require_role("admin")
        advance_clock(body["duration"])
        rt = runtime()
        return {"now": rt.clock.now(), "virtual": rt.settings.virtual_clock}
