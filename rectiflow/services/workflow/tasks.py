"""User tasks: complete, claim, release, reassign, delegate, drafts, comments. Every action checks
that the caller holds the task's role in its unit scope (or was given the task personally) and is audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow import engine
from rectiflow import forms as formlib
from rectiflow.db.audit import AuditEvent
from rectiflow.db.domain import AcceptanceStep, Measure, Problem, ProgressUpdate
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.db.raw import RawConnection, raw_connection
from rectiflow.db.runtime import ProcessInstance, UserTask
from rectiflow.domain.vocab import AcceptanceStep as Step
from rectiflow.domain.vocab import Role, TaskStatus
from rectiflow.errors import Conflict, Forbidden, InvalidFormData, InvalidInput, NotFound
from rectiflow.i18n import N_, Message
from rectiflow.services import audit
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow import evidence
from rectiflow.services.workflow.definitions import form_for
from rectiflow.services.workflow.projections import NextTask, expire
from rectiflow.services.workflow.triggers import InstanceRow, run_trigger


@dataclass(frozen=True)
class Completion:
    task_id: str
    instance_id: int
    instance_status: str
    next_tasks: list[NextTask]  # the instance's ready user tasks after the step


@dataclass(frozen=True)
class TaskRow:
    """The columns of a ``user_tasks`` row that checking and completing it needs (hot path: no ORM object)."""

    id: str
    instance_id: int
    element_id: str
    name: str
    role: str
    unit_path: str
    status: str
    assignee_id: int | None
    completed_by: int | None
    form_key: str | None
    form_hash: str | None


T = TypeVar("T", UserTask, TaskRow)


def get_task(session: Session, task_id: str, actor: Actor, *, for_action: bool = False) -> UserTask:
    """The task if the actor may see it. Out of scope looks exactly like missing (no probing by id)."""
    return _checked(session.get(UserTask, task_id), actor, for_action)


def _checked(task: T | None, actor: Actor, for_action: bool) -> T:
    if task is None or not can_view(task, actor):
        raise NotFound(N_("Task not found."))
    if for_action and not can_act(task, actor):
        raise Forbidden(N_("You do not hold this task's role in its unit."))
    return task


_TASK_AND_INSTANCE = (
    "SELECT t.id, t.instance_id, t.element_id, t.name, t.role, t.unit_path, t.status, t.assignee_id,"
    " t.completed_by, t.form_key, t.form_hash, i.id, i.definition_id, i.process_key, i.title, i.status,"
    " i.unit_id, i.version, i.state_version, i.audit_seq, i.audit_head"
    " FROM user_tasks t JOIN process_instances i ON i.id = t.instance_id WHERE t.id = ?")


def _task_and_instance(raw: RawConnection, task_id: str, actor: Actor) -> tuple[TaskRow, InstanceRow]:
    """Both rows in one plain query: completing a task is the hot path of every working day."""
    row = raw.execute(_TASK_AND_INSTANCE, (task_id,)).fetchone()
    task = _checked(TaskRow(*row[:11]) if row else None, actor, True)
    return task, InstanceRow(*row[11:])


def can_view(task: UserTask | TaskRow, actor: Actor) -> bool:
    """The task's role in scope, oversight of its unit, or the task was the actor's own (assigned to them
    or completed by them) while they still work in its unit: having once held a task is no lasting
    licence, so after a role removal the completed task and its instance are out of sight."""
    if actor.has_role(task.role, task.unit_path) or actor.oversees(task.unit_path):
        return True
    own = actor.user_id is not None and actor.user_id in (task.assignee_id, task.completed_by)
    return own and actor.can_see(task.unit_path)


def can_act(task: UserTask | TaskRow, actor: Actor) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == actor.user_id
    return actor.has_role(task.role, task.unit_path)


def task_form(session: Session, rt: Runtime, task: UserTask | TaskRow) -> formlib.Form | None:
    if not task.form_key or not task.form_hash:
        return None
    return form_for(session, rt, task.form_key, task.form_hash)


def validate_task_data(session: Session, rt: Runtime, task: UserTask | TaskRow, data: dict[str, Any],
                       locale: str = "zh_CN", actor: Actor | None = None) -> dict[str, Any]:
    """What a completion may write into the workflow: the fields of the task's form and nothing else.

    Every path (web, API, demo, bulk) comes through here, so no submission can set an identifier, a
    scope or any other workflow variable: an undeclared key is a finding naming it, a task without a
    form takes no data at all, and readOnly fields are dropped (the workflow keeps its own value).
    With the submitting ``actor``, every evidence reference must name a stored file they may see."""
    form = task_form(session, rt, task)
    if form is None:
        errors = formlib.unknown_fields(None, data, locale)
        if errors:
            raise InvalidFormData(N_("The form has errors."), errors=errors)
        return {}
    errors = formlib.validate_submission(form, data, locale=locale)
    if not errors and actor is not None:
        errors = evidence.unusable_references(session, actor, form, data, locale)
    if errors:
        raise InvalidFormData(N_("The form has errors."), errors=errors)
    return formlib.drop_readonly(form, data)


_COMPLETE = ("UPDATE user_tasks SET status = ?, completed_at = ?, completed_by = ?, submitted = ?, draft = NULL"
             " WHERE id = ? AND status = ?")


def complete_task(session: Session, rt: Runtime, task_id: str, actor: Actor, data: dict[str, Any], *,
                  expected_version: int | None = None, locale: str = "zh_CN") -> Completion:
    session.flush()  # ORM changes queued earlier in this transaction are in the rows we read
    raw = raw_connection(session)
    task, inst = _task_and_instance(raw, task_id, actor)
    if task.status != TaskStatus.READY:
        raise Conflict(N_("This task is no longer open: its status is “%(task_status)s”."), task_status=task.status)
    data = validate_task_data(session, rt, task, data, locale, actor)
    submitted = {**data, "completed_by": actor.user_id, "completed_by_name": actor.username}
    if raw.execute(_COMPLETE, (TaskStatus.COMPLETED, raw.when(rt.clock.now()), actor.user_id, raw.json(data),
                               task_id, TaskStatus.READY)).rowcount != 1:
        raise Conflict(N_("This task was completed meanwhile."))
    expire(session, UserTask, [task_id])
    trig = run_trigger(session, rt, inst, actor.username, "task.completed",
                       lambda wf: engine.complete_user_task(wf, task_id, submitted, rt.clock),
                       {"task_id": task_id, "element": task.element_id, "name": task.name, "data": data},
                       expected_version=expected_version, completed_task=task_id)
    return Completion(task_id, inst.id, inst.status, trig.ready_after)


DRAFT_MAX_BYTES = 256 * 1024


def save_draft(session: Session, rt: Runtime, task_id: str, actor: Actor, data: dict[str, Any],
               locale: str = "zh_CN") -> None:
    """A half-filled form, kept for later. It may be incomplete, but it holds only the form's fields."""
    task = get_task(session, task_id, actor, for_action=True)
    if task.status != TaskStatus.READY:
        raise Conflict(N_("This task is no longer open: its status is “%(task_status)s”."), task_status=task.status)
    errors = formlib.unknown_fields(task_form(session, rt, task), data, locale)
    if errors:
        raise InvalidFormData(N_("The draft has fields the form does not have."), errors=errors)
    if len(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")) > DRAFT_MAX_BYTES:
        raise InvalidInput(N_("The draft is too large."),
                           errors={"": [Message(N_("At most %(n)d KB."), n=DRAFT_MAX_BYTES // 1024)]},
                           code="too_large")
    task.draft = data
    session.flush()


def _instance(session: Session, task: UserTask) -> ProcessInstance:
    inst = session.get(ProcessInstance, task.instance_id)
    assert inst is not None
    return inst


def _assign(session: Session, rt: Runtime, task: UserTask, actor: Actor, action: str, user_id: int | None,
            note: str = "") -> None:
    if task.status != TaskStatus.READY:
        raise Conflict(N_("This task is no longer open: its status is “%(task_status)s”."), task_status=task.status)
    previous = task.assignee_id
    task.assignee_id = user_id
    inst = _instance(session, task)
    audit.record(session, at=rt.clock.now(), actor=actor.username, action=action, object_type="task",
                 object_id=task.id, payload={"from": previous, "to": user_id, "note": note}, instance=inst)
    inst.updated_at = rt.clock.now()  # bumps the version: a form loaded before the change is stale
    session.flush()


def claim(session: Session, rt: Runtime, task_id: str, actor: Actor) -> None:
    task = get_task(session, task_id, actor)
    if not actor.has_role(task.role, task.unit_path):
        raise Forbidden(N_("You do not hold this task's role in its unit."))
    if task.assignee_id not in (None, actor.user_id):
        raise Conflict(N_("Someone else has claimed this task."))
    _assign(session, rt, task, actor, "task.claimed", actor.user_id)


def release(session: Session, rt: Runtime, task_id: str, actor: Actor) -> None:
    task = get_task(session, task_id, actor)
    if task.assignee_id != actor.user_id and not actor.is_admin:
        raise Forbidden(N_("Only the person holding the task can release it."))
    _assign(session, rt, task, actor, "task.released", None)


MAX_ID = 2**31 - 1  # the id columns' range: a larger number is no one (and PostgreSQL refuses to compare it)


def _target_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if isinstance(user_id, int) and 0 < user_id <= MAX_ID else None
    if user is None or not user.is_active:
        raise NotFound(N_("User not found."))
    return user


def _path_prefixes(path: str) -> list[str]:
    """"/1/4/9/" → ["/", "/1/", "/1/4/", "/1/4/9/"]: the paths of the unit and every unit above it."""
    parts = [p for p in path.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def _chain_instances(session: Session, instance_id: int) -> tuple[list[int], int | None]:
    """The instances of the task's chain and the problem they serve (if any): for a problem, its own
    instance, every instance started for it (``problem:<id>``) and their children; otherwise the
    task's instance alone (a round's statutory report and its review live in the round's)."""
    problem_id = session.scalar(select(Problem.id).where(Problem.instance_id == instance_id))
    if problem_id is None:
        return [instance_id], None
    roots = set(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.business_key == f"problem:{problem_id}"))) | {instance_id}
    children = set(session.scalars(select(ProcessInstance.id).where(ProcessInstance.parent_id.in_(roots))))
    return sorted(roots | children), problem_id


def earlier_actors(session: Session, task: UserTask) -> set[int]:
    """Who acted earlier in the task's chain as applicant, author or subject, and so may not take the
    task over (segregation of duties): whoever completed a step of the chain in another role than this
    task's (the report's author, the acceptance applicant, an earlier reviewer), the problem's
    acceptance applicants and the authors of its progress updates. Someone who did this same step in
    an earlier attempt (after a send-back) is not excluded: reviewing again is their job."""
    instance_ids, problem_id = _chain_instances(session, task.instance_id)
    out = set(session.scalars(select(UserTask.completed_by).where(
        UserTask.instance_id.in_(instance_ids), UserTask.status == TaskStatus.COMPLETED, UserTask.role != task.role,
        UserTask.completed_by.is_not(None))))
    if problem_id is not None:
        out |= set(session.scalars(select(AcceptanceStep.by_user).where(
            AcceptanceStep.problem_id == problem_id, AcceptanceStep.step == Step.APPLY)))
        out |= set(session.scalars(select(ProgressUpdate.by_user).join(Measure).where(
            Measure.problem_id == problem_id)))
    return {user_id for user_id in out if user_id is not None}


def delegation_candidates(session: Session, task: UserTask) -> list[User]:
    """Whom the task may be handed to, by delegation or reassignment: active accounts holding the task's
    role for its unit (granted on the unit or above it), minus ``earlier_actors``. The one rule behind
    the check in ``delegate``/``reassign`` and the task page's list of candidates."""
    holders = (select(RoleAssignment.user_id).join(Unit, Unit.id == RoleAssignment.unit_id)
               .where(RoleAssignment.role == task.role, Unit.path.in_(_path_prefixes(task.unit_path))))
    users = session.scalars(select(User).where(User.is_active.is_(True), User.id.in_(holders))
                            .order_by(User.display_name, User.id))
    excluded = earlier_actors(session, task)
    return [u for u in users if u.id not in excluded]


def _check_recipient(session: Session, task: UserTask, user_id: int) -> None:
    from rectiflow.services.accounts.actors import load_actor

    target = load_actor(session, _target_user(session, user_id).id)
    if not target.has_role(task.role, task.unit_path):
        raise Conflict(N_("The new holder does not hold this task's role in its unit."))
    if user_id in earlier_actors(session, task):
        raise Conflict(N_("The new holder acted earlier in this chain (as applicant, author or reviewer): "
                          "segregation of duties forbids handing them this step."))


def reassign(session: Session, rt: Runtime, task_id: str, actor: Actor, to_user_id: int, note: str = "") -> None:
    """Hand the task to another holder of its role in scope (rotation, absence), with a handover note."""
    task = get_task(session, task_id, actor)
    if not (actor.is_admin or actor.has_role(Role.RECTIFICATION_OFFICE, task.unit_path)
            or actor.has_role(Role.INSPECTION_OFFICE, task.unit_path)):
        raise Forbidden(N_("Only the rectification office, the inspection office or an administrator may reassign."))
    _check_recipient(session, task, to_user_id)
    _assign(session, rt, task, actor, "task.reassigned", to_user_id, note)


def delegate(session: Session, rt: Runtime, task_id: str, actor: Actor, to_user_id: int, note: str = "") -> None:
    """The current holder hands their task to a colleague holding the same role for the same unit."""
    task = get_task(session, task_id, actor, for_action=True)
    _check_recipient(session, task, to_user_id)
    _assign(session, rt, task, actor, "task.delegated", to_user_id, note)


COMMENT_MAX = 2000


def add_comment(session: Session, rt: Runtime, task_id: str, actor: Actor, text: str) -> AuditEvent:
    """A comment on a task, for anyone who may view it: an event on its instance's audit chain.
    Appending moves the chain head on the instance row, so its version moves too (like a handover)."""
    task = get_task(session, task_id, actor)
    text = (text or "").strip()
    if not text:
        raise InvalidInput(N_("The comment is empty."), errors={"text": [Message(N_("Required."))]}, code="empty")
    if len(text) > COMMENT_MAX:
        raise InvalidInput(N_("The comment is too long."),
                           errors={"text": [Message(N_("At most %(n)d characters."), n=COMMENT_MAX)]},
                           code="too_long")
    inst = _instance(session, task)
    event = audit.record(session, at=rt.clock.now(), actor=actor.username, action="task.commented",
                         object_type="task", object_id=task.id, payload={"text": text, "task_name": task.name},
                         instance=inst)
    session.flush()
    return event


def instance_comments(session: Session, instance_id: int, limit: int = 500) -> list[AuditEvent]:
    """The comments on an instance's tasks, oldest first (newest last)."""
    q = (select(AuditEvent)
         .where(AuditEvent.stream == f"instance:{instance_id}", AuditEvent.action == "task.commented")
         .order_by(AuditEvent.seq).limit(limit))
    return list(session.scalars(q))
