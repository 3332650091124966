"""Keep the inbox (``user_tasks``) and the timer table in step with the engine, in the trigger's
transaction. Pages and the scheduler read only these indexed rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session

from rectiflow import engine
from rectiflow.db.org import Unit
from rectiflow.db.runtime import ProcessInstance, Timer, UserTask
from rectiflow.domain.deadlines import due_instant
from rectiflow.engine import sandbox
from rectiflow.services.runtime import Runtime, UnitRef
from rectiflow.services.uow import after_commit

if TYPE_CHECKING:
    from rectiflow.services.triggers import Trigger

CONTEXT_KEYS = ("round_id", "round_title", "problem_id", "problem_number", "problem_title", "measure_id",
                "unit_name", "department_name")


@dataclass(frozen=True)
class Snapshot:
    ready: set[str]
    timers: dict[str, datetime]


def snapshot(wf: Any) -> Snapshot:
    return Snapshot({t.task_id for t in engine.ready_user_tasks(wf)},
                    {t.task_id: t.due_at for t in engine.waiting_timers(wf)})


def sync_projections(session: Session, rt: Runtime, trig: Trigger, now: datetime) -> None:
    with session.no_autoflush:
        _sync_user_tasks(session, rt, trig, now)
        _sync_timers(session, trig, now)


def _sync_user_tasks(session: Session, rt: Runtime, trig: Trigger, now: datetime) -> None:
    inst, before = trig.instance, trig.before
    ready = {t.task_id: t for t in engine.ready_user_tasks(trig.workflow)}
    gone = before.ready - ready.keys() - {trig.completed_task}
    if gone:  # e.g. an interrupting boundary event fired, or a parallel branch was cancelled
        session.execute(update(UserTask).where(UserTask.id.in_(gone), UserTask.status == "ready")
                        .values(status="cancelled", completed_at=now))
    for task_id, t in ready.items():
        if task_id in before.ready:
            continue
        meta = trig.bundle.user_tasks[(t.process_id, t.element_id)]
        unit = _scope_unit(session, rt, inst, meta.scope_expr, t.data)
        session.add(UserTask(
            id=task_id, instance_id=inst.id, process_key=inst.process_key, element_id=t.element_id,
            name=meta.name, title=_text(rt, meta.title_expr, t.data) or inst.title, role=meta.role or "",
            unit_id=unit.id if unit else None, unit_path=unit.path if unit else "/",
            form_key=meta.form_key, form_hash=trig.forms.get(meta.form_key or ""),
            due_at=_due(rt, meta.due_expr, t.data), status="ready",
            context={k: t.data[k] for k in CONTEXT_KEYS if k in t.data}, created_at=now,
            draft=_prefill(rt, meta.prefill_expr, t.data),
        ))


def _evaluate(rt: Runtime, expr: str | None, data: dict[str, Any]) -> Any:
    if not expr:
        return None
    try:
        return sandbox.evaluate(expr, data, rt.helpers)
    except sandbox.SandboxError:
        return None  # a missing value must not block the task; the page shows "no due date"


def _prefill(rt: Runtime, expr: str | None, data: dict[str, Any]) -> dict[str, Any] | None:
    """The form's starting values: a draft the user edits instead of typing what the system knows."""
    value = _evaluate(rt, expr, data)
    return dict(value) if isinstance(value, dict) and value else None


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
                data: dict[str, Any]) -> UnitRef | None:
    value = _evaluate(rt, expr, data) if expr else data.get("unit_id", inst.unit_id)
    if value is None:
        value = inst.unit_id
    if not isinstance(value, int | str) or isinstance(value, bool):
        return None
    cached = rt.units.get(value)
    if cached is not None:
        return cached
    if isinstance(value, int):
        unit = session.get(Unit, value)
    else:
        unit = session.scalar(select(Unit).where(Unit.code == value))
    if unit is None:
        return None
    ref = UnitRef(unit.id, unit.path)
    after_commit(session, lambda: rt.units.put(value, ref))
    return ref


def _sync_timers(session: Session, trig: Trigger, now: datetime) -> None:
    inst, before = trig.instance, trig.before.timers
    waiting = {t.task_id: t for t in engine.waiting_timers(trig.workflow)}
    # Gone, or re-armed with another due time (a cycle, an extension): fired if it was due, else cancelled.
    changed = [tid for tid, due in before.items() if tid not in waiting or waiting[tid].due_at != due]
    if changed:
        due = Timer.due_at < now
        session.execute(
            update(Timer).where(Timer.instance_id == inst.id, Timer.task_id.in_(changed), Timer.status == "waiting")
            .values(status=case((due, "fired"), else_="cancelled"), fired_at=case((due, now), else_=None),
                    lateness_s=case((due, _seconds_since(Timer.due_at, now, session)), else_=None))
            .execution_options(synchronize_session=False))  # no Timer objects live here: skip the ORM's sync
    for task_id, t in waiting.items():
        if before.get(task_id) == t.due_at:
            continue
        session.add(Timer(instance_id=inst.id, task_id=task_id, element_id=t.element_id, due_at=t.due_at,
                          status="waiting", firing_key=f"{inst.id}:{task_id}:{t.due_at.isoformat()}",
                          created_at=now))


def _seconds_since(column: Any, now: datetime, session: Session) -> Any:
    """(now - column) in seconds, in SQL, for both dialects."""
    if session.get_bind().dialect.name == "sqlite":
        naive = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return (func.julianday(naive) - func.julianday(column)) * 86400.0
    return func.extract("epoch", literal(now) - column)
