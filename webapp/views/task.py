"""One task: the instance's context beside the rendered form; complete, save a draft."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from rectiflow import forms as formlib
from rectiflow.db.org import Unit, User
from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.errors import Conflict, InvalidFormData
from rectiflow.roles import role_label
from rectiflow.services import tasks as task_service
from webapp.forms_render import render_form
from webapp.i18n import current_locale
from webapp.views.inbox import due_info
from webapp.web import actor, db, runtime

bp = Blueprint("task", __name__, url_prefix="/tasks")


def _page(
    task: UserTask,
    values: dict[str, Any] | None,
    errors: dict[str, list[str]] | None,
    version: int | None = None,
    status: int = 200,
) -> Any:
    s, rt, a = db(), runtime(), actor()
    inst = s.get(ProcessInstance, task.instance_id)
    unit = s.get(Unit, task.unit_id) if task.unit_id else None
    assignee = s.get(User, task.assignee_id) if task.assignee_id else None
    form = task_service.task_form(s, rt, task)
    readonly = task.status != "ready" or not task_service.can_act(task, a)
    if values is None:
        values = (task.submitted if task.status != "ready" else task.draft) or {}
    rendered = render_form(form, values, errors, locale=current_locale(), readonly=readonly) if form else None
    return render_template(
        "task.html",
        task=task,
        inst=inst,
        unit=unit,
        assignee=assignee,
        form_html=rendered,
        readonly=readonly,
        can_claim=task.status == "ready"
        and task.assignee_id is None
        and a.has_role(task.role, task.unit_path),
        can_release=task.status == "ready"
        and task.assignee_id is not None
        and (task.assignee_id == a.user_id or a.is_admin),
        version=version if version is not None else (inst.version if inst else None),
        due=due_info(task.due_at, rt.clock.now()),
        has_errors=bool(errors),
    ), status


@bp.route("/<task_id>")
def show(task_id: str) -> Any:
    task = task_service.get_task(db(), task_id, actor())
    return _page(task, None, None)


def _submitted_data(task: UserTask) -> dict[str, Any]:
    form = task_service.task_form(db(), runtime(), task)
    if form is None:
        return {}
    return formlib.coerce_submission(form, request.form.to_dict(flat=False))


def _expected_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


@bp.route("/<task_id>", methods=["POST"])
def submit(task_id: str) -> Any:
    s, rt, a = db(), runtime(), actor()
    task = task_service.get_task(s, task_id, a, for_action=True)
    data = _submitted_data(task)
    if request.form.get("action") == "draft":
        task_service.save_draft(s, task_id, a, data)
        flash(_("Draft saved."), "success")
        return redirect(url_for("task.show", task_id=task_id))
    try:
        done = task_service.complete_task(
            s, rt, task_id, a, data, expected_version=_expected_version(), locale=current_locale()
        )
    except InvalidFormData as exc:
        s.rollback()
        task = task_service.get_task(s, task_id, a)
        return _page(task, data, exc.errors, version=_expected_version(), status=422)
    except Conflict as exc:
        s.rollback()
        flash(
            _(
                "This task changed while you were working on it: %(reason)s. Your input was not saved; "
                "please reload the task.",
                reason=exc.message,
            ),
            "error",
        )
        return render_template(
            "error.html",
            code=409,
            title=_("Conflict"),
            message=exc.message,
            errors={},
            back=url_for("task.show", task_id=task_id),
        ), 409
    flash(_next_message(done), "success")
    return redirect(url_for("inbox.index"))


def _next_message(done: task_service.Completion) -> str:
    loc = current_locale()
    if done.next_tasks:
        where = _(", ").join(
            f"{t.name}（{role_label(t.role, loc)}）"
            if loc.startswith("zh")
            else f"{t.name} ({role_label(t.role, loc)})"
            for t in done.next_tasks
        )
        return _("Task completed. The work has moved on to: %(where)s.", where=where)
    if done.instance_status == "completed":
        return _("Task completed. The process is now finished.")
    return _("Task completed. The process is waiting (timer, message or background step).")


@bp.route("/<task_id>/history")
def history(task_id: str) -> Any:
    task = task_service.get_task(db(), task_id, actor())
    return redirect(url_for("instances.show", instance_id=task.instance_id))


def ready_tasks(instance_id: int) -> list[UserTask]:
    return list(
        db().scalars(select(UserTask).where(UserTask.instance_id == instance_id, UserTask.status == "ready"))
    )
