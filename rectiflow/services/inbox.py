"""The inbox query: ready tasks given to me, or of my roles within my units. One indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, false, func, select, union_all
from sqlalchemy.orm import Session

from rectiflow.db.runtime import UserTask
from rectiflow.services.actors import Actor


@dataclass(frozen=True)
class InboxFilter:
    process_key: str | None = None
    overdue_at: datetime | None = None  # tasks due before this instant
    due_before: datetime | None = None


def inbox_query(actor: Actor, f: InboxFilter | None = None) -> Select[UserTask]:
    f = f or InboxFilter()
    mine = UserTask.assignee_id == actor.user_id if actor.user_id is not None else false()
    # A prefix as a range (path >= "/1/2/" and < "/1/2/\uffff"): both databases walk the
    # (status, role, unit_path) index with it, where LIKE would need special collations or pragmas.
    by_role = [and_(UserTask.role == g.role, UserTask.unit_path >= g.unit_path,
                    UserTask.unit_path < g.unit_path + "\uffff") for g in actor.grants]
    # Each branch walks its own index; an OR over both would make the planner scan every ready task.
    personal = select(UserTask.id).where(UserTask.status == "ready", mine)
    branches = [select(UserTask.id).where(UserTask.status == "ready", UserTask.assignee_id.is_(None), cond)
                for cond in by_role]
    ids = union_all(personal, *branches).subquery()
    q = select(UserTask).where(UserTask.id.in_(select(ids.c.id)))
    if f.process_key:
        q = q.where(UserTask.process_key == f.process_key)
    if f.overdue_at is not None:
        q = q.where(UserTask.due_at < f.overdue_at)
    if f.due_before is not None:
        q = q.where(UserTask.due_at < f.due_before)
    return q


def inbox(session: Session, actor: Actor, f: InboxFilter | None = None, limit: int = 100) -> list[UserTask]:
    q = inbox_query(actor, f).order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at).limit(limit)
    return list(session.scalars(q))


def inbox_count(session: Session, actor: Actor) -> int:
    return int(session.scalar(select(func.count()).select_from(inbox_query(actor).subquery())) or 0)
