"""The inbox read model: ready tasks given to me, or of my roles within my units, filtered and paged.
One indexed query for the page, the API and the navigation counter. And the inbox filters a user saves
under a name (``User.preferences["inbox_filters"]``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, false, select, union_all
from sqlalchemy.orm import Session

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.domain import Round
from rectiflow.db.org import User
from rectiflow.db.runtime import UserTask
from rectiflow.domain.deadlines import Thresholds, colour
from rectiflow.domain.vocab import TaskStatus
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.i18n import N_, Message
from rectiflow.read import paging
from rectiflow.read.choices import DueWindow
from rectiflow.read.paging import Page, PageRequest
from rectiflow.read.params import enum_param, id_param, text_param
from rectiflow.read.scope import visible_unit
from rectiflow.services.accounts.actors import Actor

WEEK = timedelta(days=7)
PROCESS_KEY_MAX = 128


@dataclass(frozen=True)
class InboxFilter:
    """The inbox's filters, by their query-argument names (the same on the page and the API)."""

    process: str | None = None  # a process key
    due: DueWindow | None = None
    round: int | None = None  # the tasks' context.round_id
    unit: int | None = None  # this unit and the units below it

    def __post_init__(self) -> None:
        text_param("process", self.process, PROCESS_KEY_MAX)
        enum_param("due", self.due, DueWindow)
        id_param("round", self.round)
        id_param("unit", self.unit)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> InboxFilter:
        return cls(process=text_param("process", args.get("process"), PROCESS_KEY_MAX),
                   due=enum_param("due", args.get("due"), DueWindow),
                   round=id_param("round", args.get("round")), unit=id_param("unit", args.get("unit")))

    def args(self) -> dict[str, str]:
        """The filters set, as query arguments (links: the pager, saved filters)."""
        values = {"process": self.process, "due": self.due, "round": self.round, "unit": self.unit}
        return {k: str(v) for k, v in values.items() if v is not None}


def _mine(actor: Actor) -> Select[Any]:
    """The ids of the ready tasks ``actor`` may act on."""
    mine = UserTask.assignee_id == actor.user_id if actor.user_id is not None else false()
    # A prefix as a range (path >= "/1/2/" and < "/1/2/\uffff"): both databases walk the
    # (status, role, unit_path) index with it, where LIKE would need special collations or pragmas.
    by_role = [and_(UserTask.role == g.role, UserTask.unit_path >= g.unit_path,
                    UserTask.unit_path < g.unit_path + "\uffff") for g in actor.grants]
    # Each branch walks its own index; an OR over both would make the planner scan every ready task.
    personal = select(UserTask.id).where(UserTask.status == TaskStatus.READY, mine)
    branches = [select(UserTask.id).where(UserTask.status == TaskStatus.READY, UserTask.assignee_id.is_(None), cond)
                for cond in by_role]
    ids = union_all(personal, *branches).subquery()
    return select(ids.c.id)


def inbox_query(session: Session, actor: Actor, f: InboxFilter | None = None,
                now: datetime | None = None) -> Select[Any]:
    """The tasks of ``actor``'s inbox narrowed by ``f`` (``now`` places the deadline filters)."""
    f = f or InboxFilter()
    q = select(UserTask).where(UserTask.id.in_(_mine(actor)))
    if f.process:
        q = q.where(UserTask.process_key == f.process)
    if f.due is not None and now is not None:
        q = q.where(UserTask.due_at < (now if f.due == DueWindow.OVERDUE else now + WEEK))
        if f.due == DueWindow.WEEK:
            q = q.where(UserTask.due_at >= now)
    if f.round is not None:
        # JSON path + cast: json_extract on SQLite, ->> on PostgreSQL.
        q = q.where(UserTask.context["round_id"].as_integer() == f.round)
    if f.unit is not None:
        unit = visible_unit(session, actor, f.unit)  # a unit out of sight narrows nothing: scope already does
        if unit is not None:
            q = q.where(UserTask.unit_path >= unit.path, UserTask.unit_path < unit.path + "\uffff")
    return q


# Deadline first (no deadline last), then age; the id makes the order total so pages never overlap.
ORDER = (UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at, UserTask.id)
# What a list shows of a task: plain rows, not ORM objects (building those, with their JSON columns, for
# every row cost more than the query itself).
COLUMNS = (UserTask.id, UserTask.title, UserTask.name, UserTask.instance_id, UserTask.process_key,
           UserTask.element_id, UserTask.role, UserTask.unit_path, UserTask.status, UserTask.due_at,
           UserTask.assignee_id, UserTask.form_key, UserTask.created_at)


def inbox_page(session: Session, actor: Actor, f: InboxFilter, req: PageRequest, now: datetime) -> Page[Row[Any]]:
    q = inbox_query(session, actor, f, now)
    return paging.fetch(session, q.with_only_columns(*COLUMNS), ORDER, req, scalars=False)


def inbox(session: Session, actor: Actor, f: InboxFilter | None = None, limit: int = 100) -> list[UserTask]:
    """The first ``limit`` tasks as ORM objects, for code that acts on them (the benchmark, scripts)."""
    return list(session.scalars(inbox_query(session, actor, f).order_by(*ORDER).limit(limit)))


def inbox_count(session: Session, actor: Actor) -> int:
    """Unfiltered: the navigation's counter."""
    return paging.count(session, inbox_query(session, actor))


@dataclass(frozen=True)
class Due:
    colour: str  # none|green|yellow|red|nodate
    days: int | None  # days left, negative when overdue; None without a deadline


def due_state(due_at: datetime | None, now: datetime) -> Due:
    """A task's deadline as the inbox shows it, counted in business days of the calendar (Beijing)."""
    if due_at is None:
        return Due("nodate", None)
    today = now.astimezone(BUSINESS_TZ).date()
    local = due_at.astimezone(BUSINESS_TZ)
    # A due instant at midnight Beijing belongs to the day before (end of that day).
    deadline = local.date() - timedelta(days=1) if local.time() == datetime.min.time() else local.date()
    return Due(colour(deadline, today, Thresholds()), (deadline - today).days)


def filter_options(session: Session, actor: Actor) -> tuple[list[str], list[tuple[int, str]]]:
    """The processes and the rounds (``context.round_id``, titled by ``context.round_title``) of the
    caller's inbox, in one query; the rounds table is read only for a round no task names."""
    mine = inbox_query(session, actor).subquery()
    rid = mine.c.context["round_id"].as_integer()
    rtitle = mine.c.context["round_title"].as_string()
    processes: set[str] = set()
    titles: dict[int, str] = {}
    for key, round_id, title in session.execute(select(mine.c.process_key, rid, rtitle).distinct()):
        processes.add(key)
        if round_id is not None and (title or round_id not in titles):
            titles[round_id] = title or ""
    missing = [i for i, t in titles.items() if not t]
    if missing:
        titles.update({r.id: r.title for r in session.scalars(select(Round).where(Round.id.in_(missing)))})
    return sorted(processes), [(i, titles[i] or f"#{i}") for i in sorted(titles)]


# ------------------------------------------------------------------------------- saved filters

SAVED_FILTERS_KEY = "inbox_filters"
SAVED_FILTERS_MAX = 20
FILTER_NAME_MAX = 50
FILTER_PARAMS = ("process", "due", "round", "unit")
DUE_WINDOWS = frozenset(DueWindow)


def clean_filter_params(params: dict[str, Any]) -> dict[str, str]:
    """The inbox's filter parameters worth keeping: known keys, well-formed values, empty ones dropped."""
    out: dict[str, str] = {}
    for key in FILTER_PARAMS:
        value = str(params.get(key) or "").strip()
        if not value:
            continue
        if ((key == "process" and len(value) <= 128) or (key == "due" and value in DUE_WINDOWS)
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
        raise NotFound(N_("User not found."))
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise InvalidInput(N_("Please give the filter a name."), errors={"name": [Message(N_("Required."))]},
                           code="name_required")
    if len(name) > FILTER_NAME_MAX:
        raise InvalidInput(N_("The name may have at most %(max)d characters."), max=FILTER_NAME_MAX,
                           errors={"name": [Message(N_("The name may have at most %(max)d characters."),
                                                    max=FILTER_NAME_MAX)]}, code="name_too_long")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidInput(N_("The name may not contain control characters."), code="name_invalid",
                           errors={"name": [Message(N_("The name may not contain control characters."))]})
    clean = clean_filter_params(params)
    if not clean:
        raise InvalidInput(N_("Choose at least one filter before saving."), code="no_filters",
                           errors={"params": [Message(N_("Choose at least one filter before saving."))]})
    current = saved_filters(user)
    entry = {"name": name, "params": clean}
    for i, item in enumerate(current):
        if item["name"] == name:
            current[i] = entry
            break
    else:
        if len(current) >= SAVED_FILTERS_MAX:
            raise InvalidInput(N_("You can keep at most %(max)d saved filters; delete one first."),
                               max=SAVED_FILTERS_MAX, code="too_many")
        current.append(entry)
    # A new dict: the JSON column only notices a replaced value, not an in-place change.
    user.preferences = {**(user.preferences or {}), SAVED_FILTERS_KEY: current}
    session.flush()
    return current


def delete_filter(session: Session, user_id: int, name: str) -> bool:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User not found."))
    current = saved_filters(user)
    kept = [f for f in current if f["name"] != name]
    if len(kept) == len(current):
        return False
    user.preferences = {**(user.preferences or {}), SAVED_FILTERS_KEY: kept}
    session.flush()
    return True
