"""Keep the inbox (``user_tasks``) and the timer table in step with the engine, in the trigger's
transaction. Pages and the scheduler read only these indexed rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from rectiflow import engine
from rectiflow.db.jobs import Incident
from rectiflow.db.org import Unit
from rectiflow.db.raw import RawConnection
from rectiflow.db.runtime import Timer, UserTask
from rectiflow.domain.deadlines import due_instant
from rectiflow.domain.vocab import IncidentKind, TaskStatus, TimerStatus
from rectiflow.engine import sandbox
from rectiflow.services.runtime import Runtime, UnitRef
from rectiflow.services.uow import after_commit

if TYPE_CHECKING:
    from rectiflow.services.workflow.triggers import Instance, Trigger

CONTEXT_KEYS = ("round_id", "round_title", "problem_id", "problem_number", "problem_title", "measure_id",
                "unit_name", "department_name")


@dataclass(frozen=True)
class Snapshot:
    ready: set[str]
    timers: dict[str, datetime]


def snapshot(wf: Any) -> Snapshot:
    return Snapshot({t.task_id for t in engine.ready_user_tasks(wf)},
                    {t.task_id: t.due_at for t in engine.waiting_timers(wf)})


def sync_projections(session: Session, raw: RawConnection, rt: Runtime, trig: Trigger, now: datetime) -> list[NextTask]:
    """Write the projection rows that changed; returns the user tasks ready after the trigger."""
    with session.no_autoflush:
        ready = _sync_user_tasks(session, raw, rt, trig, now)
        _sync_timers(session, raw, trig, now)
    return ready


@dataclass(frozen=True)
class NextTask:
    id: str
    name: str
    role: str


# Status codes are bound like any value (the vocabulary's members), never written into the text: one
# more parameter costs nothing next to the round trip, and the statement text stays constant.
_INSERT_TASK = ("INSERT INTO user_tasks (id, instance_id, process_key, element_id, name, title, role, unit_id,"
                " unit_path, form_key, form_hash, due_at, status, context, draft, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_CANCEL_TASK = "UPDATE user_tasks SET status = ?, completed_at = ? WHERE id = ? AND status = ?"


def _sync_user_tasks(session: Session, raw: RawConnection, rt: Runtime, trig: Trigger,
                     now: datetime) -> list[NextTask]:
    inst, before = trig.instance, trig.before
    ready = engine.ready_user_tasks(trig.workflow)
    ready_ids = {t.task_id for t in ready}
    gone = before.ready - ready_ids - {trig.completed_task}
    if gone:  # e.g. an interrupting boundary event fired, or a parallel branch was cancelled
        ids = sorted(gone)
        raw.executemany(_CANCEL_TASK, [(TaskStatus.CANCELLED, raw.when(now), tid, TaskStatus.READY) for tid in ids])
        expire(session, UserTask, ids)
    out, rows = [], []
    for t in ready:
        meta = trig.bundle.user_tasks[(t.process_id, t.element_id)]
        out.append(NextTask(t.task_id, meta.name, meta.role or ""))
        if t.task_id in before.ready:
            continue
        unit = _scope_unit(session, rt, inst, meta.scope_expr, t.data)
        rows.append((
            t.task_id, inst.id, inst.process_key, t.element_id, meta.name,
            _text(rt, meta.title_expr, t.data, session) or inst.title, meta.role or "",
            unit.id if unit else None, unit.path if unit else "/", meta.form_key,
            trig.forms.get(meta.form_key or ""), raw.when(_due(rt, meta.due_expr, t.data, session)), TaskStatus.READY,
            raw.json({k: t.data[k] for k in CONTEXT_KEYS if k in t.data}),
            raw.json(_prefill(rt, meta.prefill_expr, t.data, session)), raw.when(now),
        ))
    raw.executemany(_INSERT_TASK, rows)
    _record_exceeded(session, inst, now)
    return out


def expire(session: Session, entity: Any, ids: Any) -> None:
    """Rows changed by a plain statement: ORM objects already loaded for them reload on next use."""
    for key in ids:
        obj = session.identity_map.get(identity_key(entity, key))
        if obj is not None:
            session.expire(obj)


# Expressions that ran out of their sandbox budget during this step (expression, error), per session:
# the task still opens with its fallback, and the step records one incident naming the expression.
_EXCEEDED = "rectiflow_budget_exceeded"


def _evaluate(rt: Runtime, expr: str | None, data: dict[str, Any], session: Session | None = None) -> Any:
    if not expr:
        return None
    try:
        return sandbox.evaluate(expr, data, rt.helpers)
    except sandbox.BudgetExceeded as exc:
        if session is not None:
            session.info.setdefault(_EXCEEDED, []).append((expr, str(exc)))
        return None  # bounded, and the task must not be blocked by its title; an incident says why
    except sandbox.SandboxError:
        return None  # a missing value must not block the task; the page shows "no due date"


def _record_exceeded(session: Session, inst: Any, now: datetime) -> None:
    """One open incident for the expressions of this step that exceeded their budget (a designer's
    diagram to fix); the instance keeps running on the fallbacks."""
    exceeded = session.info.pop(_EXCEEDED, [])
    if exceeded:
        lines = [f"{expr[:200]}: {error}" for expr, error in exceeded]
        session.add(Incident(kind=IncidentKind.ENGINE, instance_id=inst.id, task_id=None, created_at=now,
                             message=("expressions exceeded their sandbox budget; the tasks opened with "
                                      "fallback values:\n" + "\n".join(lines))[:4000]))


def _prefill(rt: Runtime, expr: str | None, data: dict[str, Any],
             session: Session | None = None) -> dict[str, Any] | None:
    """The form's starting values: a draft the user edits instead of typing what the system knows."""
    value = _evaluate(rt, expr, data, session)
    return dict(value) if isinstance(value, dict) and value else None


def _text(rt: Runtime, expr: str | None, data: dict[str, Any], session: Session | None = None) -> str:
    value = _evaluate(rt, expr, data, session)
    return str(value)[:500] if value is not None else ""


def _due(rt: Runtime, expr: str | None, data: dict[str, Any], session: Session | None = None) -> datetime | None:
    value = _evaluate(rt, expr, data, session)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return None
    return due_instant(day)


def _scope_unit(session: Session, rt: Runtime, inst: Instance, expr: str | None,
                data: dict[str, Any]) -> UnitRef | None:
    value = _evaluate(rt, expr, data, session) if expr else data.get("unit_id", inst.unit_id)
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


_INSERT_TIMER = ("INSERT INTO timers (instance_id, task_id, element_id, due_at, status, firing_key, created_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)")


def _sync_timers(session: Session, raw: RawConnection, trig: Trigger, now: datetime) -> None:
    inst, before = trig.instance, trig.before.timers
    waiting = {t.task_id: t for t in engine.waiting_timers(trig.workflow)}
    # Gone, or re-armed with another due time (a cycle, an extension): fired if it was due, else cancelled.
    changed = [tid for tid, due in before.items() if tid not in waiting or waiting[tid].due_at != due]
    if changed:
        due = Timer.due_at < now
        session.execute(
            update(Timer).where(Timer.instance_id == inst.id, Timer.task_id.in_(changed),
                          Timer.status == TimerStatus.WAITING)
            .values(status=case((due, TimerStatus.FIRED), else_=TimerStatus.CANCELLED),
                    fired_at=case((due, now), else_=None),
                    lateness_s=case((due, _seconds_since(Timer.due_at, now, session)), else_=None))
            .execution_options(synchronize_session=False))  # no Timer objects live here: skip the ORM's sync
    raw.executemany(_INSERT_TIMER, [
        (inst.id, task_id, t.element_id, raw.when(t.due_at), TimerStatus.WAITING,
         f"{inst.id}:{task_id}:{t.due_at.isoformat()}", raw.when(now))
        for task_id, t in waiting.items() if before.get(task_id) != t.due_at
    ])


def _seconds_since(column: Any, now: datetime, session: Session) -> Any:
    """(now - column) in seconds, in SQL, for both dialects."""
    if session.get_bind().dialect.name == "sqlite":
        naive = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return (func.julianday(naive) - func.julianday(column)) * 86400.0
    return func.extract("epoch", literal(now) - column)
