"""Keep the inbox (``user_tasks``) and the timer table in step with the engine, in the trigger's
transaction. Pages and the scheduler read only these indexed rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow import engine
from rectiflow.db.org import Unit
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, Timer, UserTask
from rectiflow.domain.deadlines import due_instant
from rectiflow.engine import sandbox
from rectiflow.services.runtime import Runtime

CONTEXT_KEYS = ("round_id", "round_title", "problem_id", "problem_number", "problem_title", "measure_id",
                "unit_name", "department_name")


def sync_projections(session: Session, rt: Runtime, inst: ProcessInstance, wf: Any,
                     bundle: engine.ParsedBundle, now: datetime) -> None:
    _sync_user_tasks(session, rt, inst, wf, bundle, now)
    _sync_timers(session, inst, wf, now)


def _sync_user_tasks(session: Session, rt: Runtime, inst: ProcessInstance, wf: Any,
                     bundle: engine.ParsedBundle, now: datetime) -> None:
    ready = {t.task_id: t for t in engine.ready_user_tasks(wf)}
    existing = {row.id: row for row in session.scalars(
        select(UserTask).where(UserTask.instance_id == inst.id, UserTask.status == "ready"))}
    for task_id, row in existing.items():
        if task_id not in ready:
            row.status, row.completed_at = "cancelled", now  # e.g. an interrupting boundary event fired
    definition = session.get(ProcessDefinition, inst.definition_id)
    forms = definition.files.get("forms", {}) if definition else {}
    for task_id, t in ready.items():
        if task_id in existing:
            continue
        meta = bundle.user_tasks[(t.process_id, t.element_id)]
        unit = _scope_unit(session, rt, inst, meta.scope_expr, t.data)
        session.add(UserTask(
            id=task_id, instance_id=inst.id, process_key=inst.process_key, element_id=t.element_id,
            name=meta.name, title=_text(rt, meta.title_expr, t.data) or inst.title, role=meta.role or "",
            unit_id=unit.id if unit else None, unit_path=unit.path if unit else "/",
            form_key=meta.form_key, form_hash=forms.get(meta.form_key or ""),
            due_at=_due(rt, meta.due_expr, t.data), status="ready",
            context={k: t.data[k] for k in CONTEXT_KEYS if k in t.data}, created_at=now,
        ))


def _evaluate(rt: Runtime, expr: str | None, data: dict[str, Any]) -> Any:
    if not expr:
        return None
    try:
        return sandbox.evaluate(expr, data, rt.helpers)
    except sandbox.SandboxError:
        return None  # a missing value must not block the task; the page shows "no due date"


def _text(rt: Runtime, expr: str | None, data: dict[str, Any]) -> str:
    value = _evaluate(rt, expr, data)
    return str(value)[:500] if value is not None else ""


def _due(rt: Runtime, expr: str | None, data: dict[str, Any]) -> datetime | None:
    value = _evaluate(rt, expr, data)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return None
    return due_instant(day)


def _scope_unit(session: Session, rt: Runtime, inst: ProcessInstance, expr: str | None,
                data: dict[str, Any]) -> Unit | None:
    value = _evaluate(rt, expr, data) if expr else data.get("unit_id", inst.unit_id)
    if value is None:
        value = inst.unit_id
    if isinstance(value, int):
        return session.get(Unit, value)
    if isinstance(value, str):
        return session.scalar(select(Unit).where(Unit.code == value))
    return None


def _sync_timers(session: Session, inst: ProcessInstance, wf: Any, now: datetime) -> None:
    waiting = {t.task_id: t for t in engine.waiting_timers(wf)}
    existing = {row.task_id: row for row in session.scalars(
        select(Timer).where(Timer.instance_id == inst.id, Timer.status == "waiting"))}
    for task_id, row in existing.items():
        current = waiting.get(task_id)
        if current is not None and current.due_at == row.due_at:
            continue
        # Gone (or re-armed with another due time): fired if it was due, else cancelled.
        if row.due_at < now:
            row.status, row.fired_at = "fired", now
            row.lateness_s = (now - row.due_at).total_seconds()
        else:
            row.status = "cancelled"
    for task_id, t in waiting.items():
        row = existing.get(task_id)
        if row is not None and row.due_at == t.due_at:
            continue
        session.add(Timer(instance_id=inst.id, task_id=task_id, element_id=t.element_id, due_at=t.due_at,
                          status="waiting", firing_key=f"{inst.id}:{task_id}:{t.due_at.isoformat()}",
                          created_at=now))
