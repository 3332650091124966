"""JSON API under /api/v1 (flask-smorest). Bearer tokens signed with the secret key, 8 hours."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, request
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from rectiflow.db.domain import Problem, ReportMilestone, Round
from rectiflow.db.org import Unit, User
from rectiflow.db.runtime import ProcessInstance, Timer, UserTask
from rectiflow.errors import Forbidden, NotFound
from rectiflow.roles import role_label
from rectiflow.services import chain
from rectiflow.services import tasks as task_service
from rectiflow.services.actors import load_actor
from rectiflow.services.users import authenticate
from webapp.views.inbox import due_info, inbox_query
from webapp.views.instances import visible_instance
from webapp.views.ledger import problem_query, scope_condition, visible_problem
from webapp.views.rounds import visible_round, visible_rounds
from webapp.web import actor, csrf, db, runtime

TOKEN_MAX_AGE_S = 8 * 3600
blp = Blueprint("api", __name__, url_prefix="/api/v1", description="rectiflow JSON API")


class Unauthorized(Forbidden):
    pass


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="rectiflow-api-token")


def issue_token(user_id: int) -> str:
    return _serializer().dumps({"uid": user_id})


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _unauthorized("missing bearer token")
        try:
            payload = _serializer().loads(header[7:].strip(), max_age=TOKEN_MAX_AGE_S)
            g.actor = load_actor(db(), int(payload["uid"]))
        except SignatureExpired:
            return _unauthorized("token expired")
        except (BadSignature, KeyError, TypeError, ValueError, NotFound):
            return _unauthorized("invalid token")
        return view(*args, **kwargs)

    return inner


def _unauthorized(message: str) -> Any:
    from flask import jsonify

    resp = jsonify({"code": 401, "status": "Unauthorized", "message": message})
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = "Bearer"
    return resp


# ---- schemas -----------------------------------------------------------------------------------------


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class TokenResponse(Schema):
    token = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class GrantSchema(Schema):
    role = fields.String()
    role_label = fields.String()
    unit_id = fields.Integer()
    unit_path = fields.String()


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    locale = fields.String()
    grants = fields.List(fields.Nested(GrantSchema))


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String()
    title = fields.String()
    role = fields.String()
    unit_path = fields.String()
    status = fields.String()
    assignee_id = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    due_colour = fields.String()
    days_left = fields.Integer(allow_none=True)
    form_key = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TaskDetailSchema(TaskSchema):
    context = fields.Dict()
    form_schema = fields.Dict(allow_none=True)
    form_ui = fields.Dict(allow_none=True)
    draft = fields.Dict(allow_none=True)
    submitted = fields.Dict(allow_none=True)
    instance_version = fields.Integer(allow_none=True)
    can_act = fields.Boolean()


class TaskQuery(Schema):
    process = fields.String(load_default="")
    due = fields.String(load_default="", validate=validate.OneOf(["", "overdue", "week"]))


class CompleteRequest(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict)
    expected_version = fields.Integer(load_default=None, allow_none=True)


class NextTaskSchema(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    role_label = fields.String()


class CompleteResponse(Schema):
    task_id = fields.String()
    instance_id = fields.Integer()
    instance_status = fields.String()
    next_tasks = fields.List(fields.Nested(NextTaskSchema))


class HandoverRequest(Schema):
    user_id = fields.Integer(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class OkSchema(Schema):
    ok = fields.Boolean()


class TimerSchema(Schema):
    id = fields.Integer()
    element_id = fields.String()
    due_at = fields.DateTime()
    status = fields.String()


class InstanceSchema(Schema):
    id = fields.Integer()
    process_key = fields.String()
    business_key = fields.String()
    title = fields.String()
    status = fields.String()
    version = fields.Integer()
    unit_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    ready_tasks = fields.List(fields.Nested(TaskSchema))
    timers = fields.List(fields.Nested(TimerSchema))


class ProblemSchema(Schema):
    id = fields.Integer()
    round_id = fields.Integer()
    number = fields.String()
    aspect = fields.String()
    category = fields.String()
    feedback_text = fields.String()
    unit_id = fields.Integer()
    unit_path = fields.String()
    status = fields.String()
    colour = fields.String()
    deadline = fields.Date(allow_none=True)
    supervised = fields.Boolean()
    long_term = fields.Boolean()
    instance_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class ProblemQuery(Schema):
    round = fields.String(load_default="")
    status = fields.String(load_default="")
    colour = fields.String(load_default="")
    supervised = fields.String(load_default="")


class ClockSchema(Schema):
    now = fields.DateTime()
    virtual = fields.Boolean()


class AdvanceRequest(Schema):
    duration = fields.String(required=True, validate=validate.Length(min=1, max=32))


class RoundProblemIn(Schema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=32))
    aspect = fields.String(load_default="", validate=validate.Length(max=300))
    category = fields.String(required=True, validate=validate.Length(min=1, max=16))
    domain_tag = fields.String(load_default="", validate=validate.Length(max=32))
    feedback_text = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    department_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    functional_department_code = fields.String(load_default="", allow_none=True, validate=validate.Length(max=64))


class RoundCreateRequest(Schema):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=64))  # the inspected unit's code
    year = fields.Integer(required=True, validate=validate.Range(min=1990, max=2200))
    number = fields.Integer(required=True, validate=validate.Range(min=1, max=999))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    team = fields.String(load_default="", validate=validate.Length(max=200))
    feedback_date = fields.Date(required=True)
    feedback_text = fields.String(load_default="", validate=validate.Length(max=100000))
    schedule_preset = fields.String(load_default="enterprise", validate=validate.Length(min=1, max=64))
    problems = fields.List(fields.Nested(RoundProblemIn), required=True, validate=validate.Length(min=1, max=2000))


class RoundCreated(Schema):
    id = fields.Integer()
    instance_id = fields.Integer(allow_none=True)


class RoundSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    number = fields.Integer()
    title = fields.String()
    team = fields.String()
    unit_id = fields.Integer()
    unit_code = fields.String()
    unit_name = fields.String()
    feedback_date = fields.Date()
    status = fields.String()
    instance_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class MilestoneSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    due_date = fields.Date()
    status = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)


class RoundDetailSchema(RoundSchema):
    feedback_text = fields.String()
    problems = fields.List(fields.Nested(ProblemSchema))
    milestones = fields.List(fields.Nested(MilestoneSchema))


# ---- helpers -----------------------------------------------------------------------------------------


def task_dict(t: UserTask) -> dict[str, Any]:
    due = due_info(t.due_at, runtime().clock.now())
    return {
        c: getattr(t, c)
        for c in (
            "id",
            "instance_id",
            "process_key",
            "element_id",
            "name",
            "title",
            "role",
            "unit_path",
            "status",
            "assignee_id",
            "due_at",
            "form_key",
            "created_at",
        )
    } | {"due_colour": due.colour, "days_left": due.days}


def _locale() -> str:
    user = db().get(User, actor().user_id)
    return user.locale if user is not None else "zh_CN"


# ---- endpoints ---------------------------------------------------------------------------------------


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    def post(self, body: dict[str, Any]) -> Any:
        user = authenticate(db(), body["username"], body["password"])
        if user is None:
            return _unauthorized("wrong username or password")
        return {"token": issue_token(user.id), "expires_in": TOKEN_MAX_AGE_S}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @token_required
    def get(self) -> Any:
        a = actor()
        user = db().get(User, a.user_id)
        return {
            "id": a.user_id,
            "username": a.username,
            "display_name": user.display_name if user else "",
            "locale": user.locale if user else "zh_CN",
            "grants": [
                {
                    "role": g_.role,
                    "role_label": role_label(g_.role, user.locale if user else "zh_CN"),
                    "unit_id": g_.unit_id,
                    "unit_path": g_.unit_path,
                }
                for g_ in a.grants
            ],
        }


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskSchema(many=True))
    @token_required
    def get(self, args: dict[str, Any]) -> Any:
        q = inbox_query(actor(), process=args["process"], due=args["due"], now=runtime().clock.now())
        return [task_dict(t) for t in db().scalars(q.limit(1000))]


@blp.route("/tasks/<task_id>")
class TaskDetail(MethodView):
    @blp.response(200, TaskDetailSchema)
    @token_required
    def get(self, task_id: str) -> Any:
        s, a = db(), actor()
        t = task_service.get_task(s, task_id, a)
        form = task_service.task_form(s, runtime(), t)
        inst = s.get(ProcessInstance, t.instance_id)
        return task_dict(t) | {
            "context": t.context or {},
            "form_schema": form.schema if form else None,
            "form_ui": form.ui if form else None,
            "draft": t.draft,
            "submitted": t.submitted,
            "instance_version": inst.state_version if inst else None,
            "can_act": t.status == "ready" and task_service.can_act(t, a),
        }


@blp.route("/tasks/<task_id>/claim")
class Claim(MethodView):
    @blp.response(200, OkSchema)
    @token_required
    def post(self, task_id: str) -> Any:
        task_service.claim(db(), runtime(), task_id, actor())
        return {"ok": True}


@blp.route("/tasks/<task_id>/release")
class Release(MethodView):
    @blp.response(200, OkSchema)
    @token_required
    def post(self, task_id: str) -> Any:
        task_service.release(db(), runtime(), task_id, actor())
        return {"ok": True}


@blp.route("/tasks/<task_id>/complete")
class Complete(MethodView):
    @blp.arguments(CompleteRequest)
    @blp.response(200, CompleteResponse)
    @token_required
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        done = task_service.complete_task(
            db(),
            runtime(),
            task_id,
            actor(),
            body["data"],
            expected_version=body["expected_version"],
            locale=_locale(),
        )
        loc = _locale()
        return {
            "task_id": done.task_id,
            "instance_id": done.instance_id,
            "instance_status": done.instance_status,
            "next_tasks": [
                {"id": t.id, "name": t.name, "role": t.role, "role_label": role_label(t.role, loc)}
                for t in done.next_tasks
            ],
        }


@blp.route("/tasks/<task_id>/reassign")
class Reassign(MethodView):
    @blp.arguments(HandoverRequest)
    @blp.response(200, OkSchema)
    @token_required
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        task_service.reassign(db(), runtime(), task_id, actor(), body["user_id"], body["note"])
        return {"ok": True}


@blp.route("/tasks/<task_id>/delegate")
class Delegate(MethodView):
    @blp.arguments(HandoverRequest)
    @blp.response(200, OkSchema)
    @token_required
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        task_service.delegate(db(), runtime(), task_id, actor(), body["user_id"], body["note"])
        return {"ok": True}


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


def init_app(app: Flask) -> None:
    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(blp)
    csrf.exempt(blp)
    app.extensions["rectiflow.api"] = api
