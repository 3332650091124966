"""Instances, problems, rounds (create, list, detail) and the clock."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from rectiflow.db.domain import ReportMilestone, Round
from rectiflow.db.org import Unit
from rectiflow.db.runtime import Timer, UserTask
from rectiflow.read import ledger as read_ledger
from rectiflow.read import rounds as read_rounds
from rectiflow.read.instances import visible_instance
from rectiflow.read.ledger import LedgerFilter
from rectiflow.read.problems import visible_problem
from rectiflow.read.rounds import RoundFilter
from rectiflow.services.chain import rounds as chain
from webapp.api import blp
from webapp.api.auth import token_required
from webapp.api.paging import PAGINATION_HEADERS, page_request, paged
from webapp.api.schemas import (
    AdvanceRequest,
    ClockSchema,
    InstanceSchema,
    ProblemQuery,
    ProblemSchema,
    RoundCreated,
    RoundCreateRequest,
    RoundDetailSchema,
    RoundQuery,
    RoundSchema,
)
from webapp.api.tasks import task_dict
from webapp.virtual_clock import advance_clock
from webapp.web import actor, db, runtime


@blp.route("/instances/<int:instance_id>")
class Instance(MethodView):
    @blp.response(200, InstanceSchema)
    @token_required
    def get(self, instance_id: int) -> Any:
        s = db()
        inst, _unit = visible_instance(s, actor(), instance_id)
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
    @blp.response(200, ProblemSchema(many=True), headers=PAGINATION_HEADERS)
    @token_required
    def get(self, args: dict[str, Any]) -> Any:
        """The ledger (综合查询): the filters and order of the ledger page, one page of rows."""
        return paged(read_ledger.ledger_page(db(), actor(), LedgerFilter.from_args(args), page_request(args)))


@blp.route("/problems/<int:problem_id>")
class ProblemDetail(MethodView):
    @blp.response(200, ProblemSchema)
    @token_required
    def get(self, problem_id: int) -> Any:
        return visible_problem(db(), actor(), problem_id)


def round_dict(rnd: Round, unit: Unit) -> dict[str, Any]:
    return {c: getattr(rnd, c) for c in ("id", "year", "number", "title", "team", "unit_id", "feedback_date",
                                         "status", "instance_id", "created_at", "closed_at")} | {
        "unit_code": unit.code, "unit_name": unit.name}


@blp.route("/rounds")
class Rounds(MethodView):
    @blp.arguments(RoundQuery, location="query")
    @blp.response(200, RoundSchema(many=True), headers=PAGINATION_HEADERS)
    @token_required
    def get(self, args: dict[str, Any]) -> Any:
        """The rounds the caller may see, newest first."""
        page = read_rounds.rounds_page(db(), actor(), RoundFilter.from_args(args), page_request(args))
        return paged(page.map(lambda row: round_dict(row[0], row[1])))

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
        rnd, unit = read_rounds.visible_round(s, a, round_id)
        milestones = s.scalars(
            select(ReportMilestone).where(ReportMilestone.round_id == rnd.id).order_by(ReportMilestone.due_date)
        )
        return round_dict(rnd, unit) | {"feedback_text": rnd.feedback_text, "milestones": list(milestones),
                                        "problems": read_rounds.round_problems(s, a, rnd, unit)}


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
        actor().require_role("admin")
        advance_clock(body["duration"])
        rt = runtime()
        return {"now": rt.clock.now(), "virtual": rt.settings.virtual_clock}
