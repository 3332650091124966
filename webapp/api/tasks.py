"""Tokens, the caller, and tasks: inbox, detail, claim, release, complete, reassign, delegate."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from sqlalchemy import Row

from rectiflow.db.org import User
from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.read.inbox import InboxFilter, due_state, inbox_page
from rectiflow.roles import role_label
from rectiflow.services.workflow import tasks as task_service
from webapp.api import blp
from webapp.api.auth import token_for_login, token_required
from webapp.api.paging import PAGINATION_HEADERS, page_request, paged
from webapp.api.schemas import (
    CompleteRequest,
    CompleteResponse,
    HandoverRequest,
    MeSchema,
    OkSchema,
    TaskDetailSchema,
    TaskQuery,
    TaskSchema,
    TokenRequest,
    TokenResponse,
)
from webapp.web import actor, db, runtime


def task_dict(t: UserTask | Row[Any]) -> dict[str, Any]:
    """A task as the API shows it: an ORM task, or a row of the inbox read model (same columns)."""
    due = due_state(t.due_at, runtime().clock.now())
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


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    def post(self, body: dict[str, Any]) -> Any:
        return token_for_login(body["username"], body["password"])  # throttled: a 429 after repeated failures


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
    @blp.response(200, TaskSchema(many=True), headers=PAGINATION_HEADERS)
    @token_required
    def get(self, args: dict[str, Any]) -> Any:
        """My inbox: the filters and order of the inbox page, one page of tasks."""
        page = inbox_page(db(), actor(), InboxFilter.from_args(args), page_request(args), runtime().clock.now())
        return paged(page.map(task_dict))


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
