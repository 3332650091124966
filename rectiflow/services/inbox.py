"""The inbox query: ready tasks given to me, or of my roles within my units. One indexed query.
And the inbox filters a user saves under a name (``User.preferences["inbox_filters"]``)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, select, union_all
from sqlalchemy.orm import Session

from rectiflow.db.org import User
from rectiflow.db.runtime import UserTask
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.services.accounts.actors import Actor


@dataclass(frozen=True)
class InboxFilter:
    process_key: str | None = None
    overdue_at: datetime | None = None  # tasks due before this instant
    due_before: datetime | None = None
    round_id: int | None = None  # the tasks' context.round_id
    unit_path: str | None = None  # this unit and the units below it


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
    if f.round_id is not None:
        # JSON path + cast: json_extract on SQLite, ->> on PostgreSQL.
        q = q.where(UserTask.context["round_id"].as_integer() == f.round_id)
    if f.unit_path is not None:
        q = q.where(UserTask.unit_path >= f.unit_path, UserTask.unit_path < f.unit_path + "\uffff")
    return q


def inbox(session: Session, actor: Actor, f: InboxFilter | None = None, limit: int = 100) -> list[UserTask]:
    q = inbox_query(actor, f).order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at).limit(limit)
    return list(session.scalars(q))


def inbox_count(session: Session, actor: Actor) -> int:
    return int(session.scalar(select(func.count()).select_from(inbox_query(actor).subquery())) or 0)


# ------------------------------------------------------------------------------- saved filters

SAVED_FILTERS_KEY = "inbox_filters"
SAVED_FILTERS_MAX = 20
FILTER_NAME_MAX = 50
FILTER_PARAMS = ("process", "due", "round", "unit")


def clean_filter_params(params: dict[str, Any]) -> dict[str, str]:
    """The inbox's filter parameters worth keeping: known keys, well-formed values, empty ones dropped."""
    out: dict[str, str] = {}
    for key in FILTER_PARAMS:
        value = str(params.get(key) or "").strip()
        if not value:
            continue
        if ((key == "process" and len(value) <= 128) or (key == "due" and value in ("overdue", "week"))
                or (key in ("round", "unit") and value.isdigit() and len(value) <= 12)):
            out[key] = value
    return out


def saved_filters(user: User) -> list[dict[str, Any]]:
    """The user's saved inbox filters as ``[{name, params}]``, skipping anything malformed."""
    raw = (user.preferences or {}).get(SAVED_FILTERS_KEY) or []
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("params"), dict):
            out.append({"name": item["name"], "params": clean_filter_params(item["params"])})
    return out


def save_filter(session: Session, user_id: int, name: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Save the filter set under ``name`` (same name: replaced in place). InvalidInput carries a ``code``:
    name_required | name_too_long | name_invalid | no_filters | too_many."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise InvalidInput("a name is required", errors={"name": ["required"]}, code="name_required")
    if len(name) > FILTER_NAME_MAX:
        raise InvalidInput("the name is too long", errors={"name": [f"at most {FILTER_NAME_MAX} characters"]},
                           code="name_too_long")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput("the name has control characters", errors={"name": ["invalid characters"]},
                           code="name_invalid")
    clean = clean_filter_params(params)
    if not clean:
        raise InvalidInput("nothing to save", errors={"params": ["choose at least one filter"]}, code="no_filters")
    current = saved_filters(user)
    entry = {"name": name, "params": clean}
    for i, item in enumerate(current):
        if item["name"] == name:
            current[i] = entry
            break
    else:
        if len(current) >= SAVED_FILTERS_MAX:
            raise InvalidInput("too many saved filters", errors={"name": [f"at most {SAVED_FILTERS_MAX}"]},
                               code="too_many")
        current.append(entry)
    # A new dict: the JSON column only notices a replaced value, not an in-place change.
    user.preferences = {**(user.preferences or {}), SAVED_FILTERS_KEY: current}
    session.flush()
    return current


def delete_filter(session: Session, user_id: int, name: str) -> bool:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    current = saved_filters(user)
    kept = [f for f in current if f["name"] != name]
    if len(kept) == len(current):
        return False
    user.preferences = {**(user.preferences or {}), SAVED_FILTERS_KEY: kept}
    session.flush()
    return True
