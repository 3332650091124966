"""One task: the instance's context beside the rendered form; complete, save a draft."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from rectiflow import forms as formlib
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.errors import Conflict, InvalidFormData, InvalidInput
from rectiflow.i18n import N_
from rectiflow.read.inbox import due_state
from rectiflow.roles import role_label
from rectiflow.services import files as file_service
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.workflow import tasks as task_service
from webapp.due import labelled
from webapp.errors import render, render_errors
from webapp.forms_render import render_form
from webapp.i18n import current_locale
from webapp.labels import CONTEXT_LABELS
from webapp.web import actor, db, end_db, runtime

bp = Blueprint("task", __name__, url_prefix="/tasks")


def _page(
    task: UserTask,
    values: dict[str, Any] | None,
    errors: dict[str, list[str]] | None,
    version: int | None = None,
    status: int = 200,
    comment_text: str = "",
    comment_error: str = "",
) -> Any:
    s, rt, a = db(), runtime(), actor()
    inst = s.get(ProcessInstance, task.instance_id)
    unit = s.get(Unit, task.unit_id) if task.unit_id else None
    assignee = s.get(User, task.assignee_id) if task.assignee_id else None
    form = task_service.task_form(s, rt, task)
    readonly = task.status != "ready" or not task_service.can_act(task, a)
    if values is None:
        values = (task.submitted if task.status != "ready" else task.draft) or {}
    rendered = (
        render_form(form, values, errors, locale=current_locale(), readonly=readonly, file_info=file_info(values))
        if form
        else None
    )
    can_reassign = task.status == "ready" and may_reassign(task, a)
    can_delegate = task.status == "ready" and task_service.can_act(task, a)
    holder = task.assignee_id if task.assignee_id is not None else a.user_id  # the core's rule, minus the holder
    handover_to = [u for u in task_service.delegation_candidates(s, task) if u.id != holder] \
        if can_reassign or can_delegate else []
    return render_template(
        "task.html",
        context_labels=CONTEXT_LABELS,
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
        version=version if version is not None else (inst.state_version if inst else None),
        due=labelled(due_state(task.due_at, rt.clock.now())),
        has_errors=bool(errors),
        can_reassign=can_reassign,
        can_delegate=can_delegate,
        reassign_to=handover_to if can_reassign else [],
        delegate_to=handover_to if can_delegate else [],
        comments=comment_rows(task.instance_id),
        earlier=earlier_steps(task, a),
        comment_text=comment_text,
        comment_error=comment_error,
        comment_max=task_service.COMMENT_MAX,
    ), status


EARLIER_STEPS = 5


def earlier_steps(task: UserTask, a: Actor) -> list[dict[str, Any]]:
    """What was submitted in this process before this task, newest first, read-only: the reviewer
    of a report reads the report here, the approver of an extension the request. Only the steps the
    viewer may see themselves (a task of another unit in the same process stays hidden)."""
    s, rt = db(), runtime()
    q = (select(UserTask).where(UserTask.instance_id == task.instance_id, UserTask.status == "completed",
                                UserTask.id != task.id, UserTask.submitted.is_not(None))
         .order_by(UserTask.completed_at.desc()).limit(EARLIER_STEPS * 3))
    out: list[dict[str, Any]] = []
    for n, t in enumerate(s.scalars(q)):
        if len(out) == EARLIER_STEPS or (task.completed_at and t.completed_at and t.completed_at > task.completed_at):
            continue
        form = task_service.task_form(s, rt, t)
        if form is None or not t.submitted or not task_service.can_view(t, a):
            continue
        by = s.get(User, t.completed_by) if t.completed_by else None
        out.append({"task": t, "by": by.display_name if by else "", "html": render_form(
            form, t.submitted, None, locale=current_locale(), readonly=True, file_info=file_info(t.submitted),
            id_prefix=f"e{n}-")})
    return out


def comment_rows(instance_id: int) -> list[dict[str, Any]]:
    """The instance's comments, oldest first, with their authors' display names (one query each)."""
    s = db()
    events = task_service.instance_comments(s, instance_id)
    names = {u.username: u.display_name for u in s.scalars(select(User).where(
        User.username.in_({e.actor for e in events})))} if events else {}
    return [{"author": names.get(e.actor, e.actor), "at": e.at, "text": (e.payload or {}).get("text", ""),
             "task_name": (e.payload or {}).get("task_name", ""), "task_id": e.object_id} for e in events]


def may_reassign(task: UserTask, a: Actor) -> bool:
    """Mirrors ``tasks.reassign``: the unit's rectification office, the inspection office or an admin."""
    return a.is_admin or a.has_role("rectification_office", task.unit_path) or a.has_role(
        "inspection_office", task.unit_path
    )


def candidates(task: UserTask, a: Actor, *, same_role: bool) -> list[User]:
    """Whom the task may go to. Reassign: holders of the task's role for its unit (granted on the unit or
    above it). Delegate: the people working in the task's unit itself. Never the current holder."""
    s = db()
    holders = select(RoleAssignment.user_id).join(Unit, Unit.id == RoleAssignment.unit_id)
    if same_role:
        holders = holders.where(RoleAssignment.role == task.role, Unit.path.in_(_prefixes(task.unit_path)))
    else:
        holders = holders.where(Unit.path == task.unit_path)
    q = select(User).where(User.is_active.is_(True), User.id.in_(holders)).order_by(User.display_name, User.id)
    users = list(s.scalars(q))
    skip = {task.assignee_id} if task.assignee_id is not None else {a.user_id}
    return [u for u in users if u.id not in skip]


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)] or ["/"]


def _file_ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if file_service.is_sha(value) else []
    if isinstance(value, dict):
        return [x for v in value.values() for x in _file_ids(v)]
    if isinstance(value, list):
        return [x for v in value for x in _file_ids(v)]
    return []


def file_info(values: Any) -> Any:
    """Names and download links of the files the values refer to (one query)."""
    rows = file_service.visible(db(), actor(), _file_ids(values))

    def info(file_id: str) -> tuple[str, str | None]:
        row = rows.get(file_id)
        if row is None:
            return (file_id[:12] + "…", None)
        return (row.name, url_for("files.download", sha=file_id))

    return info


@bp.route("/<task_id>")
def show(task_id: str) -> Any:
    task = task_service.get_task(db(), task_id, actor())
    return _page(task, None, None)


def _uploads() -> dict[str, list[FileStorage]]:
    out: dict[str, list[FileStorage]] = {}
    for key, items in request.files.lists():
        if key.endswith("__upload"):
            chosen = [f for f in items if f and f.filename]
            if chosen:
                out[key[: -len("__upload")]] = chosen
    return out


def upload_message(exc: InvalidInput) -> str:
    d = exc.details
    name, params = d.get("file", ""), d.get("params") or {}
    code = d.get("code")
    if code == "too_large":
        return _("%(name)s is larger than the limit of %(limit)s.", name=name, limit=params.get("limit", ""))
    if code == "empty":
        return _("%(name)s is empty.", name=name)
    if code == "mismatch":
        return _(
            "%(name)s was refused: its name says %(claimed)s but its content is %(actual)s.",
            name=name,
            claimed=params.get("claimed", ""),
            actual=params.get("actual", ""),
        )
    if code in ("type", "extension"):
        return _(
            "%(name)s was refused: only PDF, PNG, JPEG, Word (DOCX), Excel (XLSX) and plain text files are "
            "accepted.",
            name=name,
        )
    return render(exc)


def store_uploads(task: UserTask) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Store the request's uploads for the task's unit in a transaction of their own (kept even when the
    form is then refused, so the files stay listed). Returns file ids and error messages per path."""
    uploads = _uploads()
    if not uploads:
        return {}, {}
    rt, a, unit_path = runtime(), actor(), task.unit_path
    end_db()  # SQLite: the request's own write session must not hold the lock while we commit
    ids: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    with rt.sessions.begin() as fs:
        for path, items in uploads.items():
            for item in items:
                try:
                    row = file_service.store_file(fs, rt.clock, rt.settings, a, item.filename or "", item.stream,
                                                  unit_path)
                except InvalidInput as exc:
                    errors.setdefault(path, []).append(upload_message(exc))
                else:
                    ids.setdefault(path, []).append(row.sha256)
    return ids, errors


def _has_field(form: formlib.Form, name: str) -> bool:
    return name in (form.schema.get("properties") or {})


def _is_list_field(form: formlib.Form, path: str) -> bool:
    node = (form.schema.get("properties") or {}).get(path)
    return not isinstance(node, dict) or node.get("type") == "array"


def _submitted_data(task: UserTask, uploaded: dict[str, list[str]] | None = None) -> dict[str, Any]:
    form = task_service.task_form(db(), runtime(), task)
    if form is None:
        return {}
    raw = request.form.to_dict(flat=False)
    raw.pop("_action", None)
    if "_action" not in request.form and not _has_field(form, "action"):
        raw.pop("action", None)
    for path, ids in (uploaded or {}).items():
        kept = raw.get(path, [])
        # A list gets the new files after the kept ones; a single file field takes the new upload.
        raw[path] = [*kept, *ids] if _is_list_field(form, path) else [*ids, *kept]
    return formlib.coerce_submission(form, raw)


def _operation() -> str:
    """Which button was pressed: ``_action`` (a form may well have a field called "action"); plain
    ``action`` is still understood from older pages and scripts."""
    op = request.form.get("_action")
    if op is None:
        op = "draft" if request.form.get("action") == "draft" else "complete"
    return op


def _expected_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


@bp.route("/<task_id>", methods=["POST"])
def submit(task_id: str) -> Any:
    rt, a = runtime(), actor()
    task = task_service.get_task(db(), task_id, a, for_action=True)
    uploaded, upload_errors = store_uploads(task)
    s = db()
    task = task_service.get_task(s, task_id, a, for_action=True)
    data = _submitted_data(task, uploaded)
    if _operation() == "draft":
        if upload_errors:  # nothing is saved; the files that were accepted stay listed
            return _page(task, data, upload_errors, version=_expected_version(), status=422)
        try:
            task_service.save_draft(s, rt, task_id, a, data, locale=current_locale())
        except InvalidInput as exc:
            s.rollback()
            return _page(task, data, render_errors(exc.errors), version=_expected_version(), status=422)
        flash(_("Draft saved."), "success")
        return redirect(url_for("task.show", task_id=task_id))
    try:
        if upload_errors:
            form = task_service.task_form(s, rt, task)
            found = formlib.validate_submission(form, data, locale=current_locale()) if form else {}
            for path, messages in upload_errors.items():
                found[path] = [*messages, *found.get(path, [])]
            raise InvalidFormData(N_("The form has errors."), errors=found)
        done = task_service.complete_task(
            s, rt, task_id, a, data, expected_version=_expected_version(), locale=current_locale()
        )
    except InvalidFormData as exc:
        s.rollback()
        task = task_service.get_task(s, task_id, a)
        return _page(task, data, render_errors(exc.errors), version=_expected_version(), status=422)
    except Conflict as exc:
        s.rollback()
        flash(
            _(
                "This task changed while you were working on it: %(reason)s. Your input was not saved; "
                "please reload the task.",
                reason=render(exc),
            ),
            "error",
        )
        return render_template(
            "error.html",
            code=409,
            title=_("Conflict"),
            message=render(exc),
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


def _target_user_id() -> int | None:
    raw = request.form.get("user_id", "")
    return int(raw) if raw.isdigit() else None


@bp.route("/<task_id>/reassign", methods=["POST"])
def reassign(task_id: str) -> Any:
    task_service.get_task(db(), task_id, actor())  # load and check access before reading the input
    uid = _target_user_id()
    if uid is None:
        flash(_("Please choose the person to hand the task to."), "error")
        return redirect(url_for("task.show", task_id=task_id))
    task_service.reassign(db(), runtime(), task_id, actor(), uid, request.form.get("note", "").strip()[:2000])
    flash(_("Task reassigned."), "success")
    return redirect(url_for("task.show", task_id=task_id))


@bp.route("/<task_id>/delegate", methods=["POST"])
def delegate(task_id: str) -> Any:
    task_service.get_task(db(), task_id, actor(), for_action=True)  # access first, then the input
    uid = _target_user_id()
    if uid is None:
        flash(_("Please choose the person to hand the task to."), "error")
        return redirect(url_for("task.show", task_id=task_id))
    task_service.delegate(db(), runtime(), task_id, actor(), uid, request.form.get("note", "").strip()[:2000])
    flash(_("Task delegated."), "success")
    return redirect(url_for("inbox.index"))


@bp.route("/<task_id>/comments", methods=["POST"])
def comment(task_id: str) -> Any:
    s, a = db(), actor()
    text = request.form.get("text", "")
    try:
        task_service.add_comment(s, runtime(), task_id, a, text)
    except InvalidInput as exc:
        s.rollback()
        task = task_service.get_task(s, task_id, a)
        message = (
            _("The comment may have at most %(max)d characters.", max=task_service.COMMENT_MAX)
            if exc.details.get("code") == "too_long"
            else _("Please write a comment before sending it.")
        )
        return _page(task, None, None, status=422, comment_text=text[: task_service.COMMENT_MAX * 2],
                     comment_error=message)
    flash(_("Comment added."), "success")
    return redirect(url_for("task.show", task_id=task_id) + "#comments")


@bp.route("/<task_id>/history")
def history(task_id: str) -> Any:
    task = task_service.get_task(db(), task_id, actor())
    return redirect(url_for("instances.show", instance_id=task.instance_id))


def ready_tasks(instance_id: int) -> list[UserTask]:
    return list(
        db().scalars(select(UserTask).where(UserTask.instance_id == instance_id, UserTask.status == "ready"))
    )
