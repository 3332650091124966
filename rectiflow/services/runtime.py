"""The runtime: everything a trigger needs, assembled once per process by the composition root
(``rectiflow_cli``) and handed to the web app and the workers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rectiflow.clock import Clock
from rectiflow.config import Settings
from rectiflow.db.session import make_engine, make_session_factory
from rectiflow.engine import StateSerializer
from rectiflow.services.clockstore import make_clock
from rectiflow.services.workflow.operations import OperationRegistry


class WorkflowCache:
    """Deserialized workflows of recently touched instances, keyed by instance id and valid only for
    the exact row version they were written as. Deserializing is the most expensive part of a
    trigger; the version check makes a stale entry (another process wrote since) harmless."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = Lock()

    def take(self, instance_id: int, version: int) -> Any | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is not None and item[0] == version:
            return item[1]
        return None

    def put(self, instance_id: int, version: int, workflow: Any) -> None:
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass(frozen=True)
class UnitRef:
    id: int
    path: str


class UnitCache:
    """Unit id or code → (id, path). Safe to keep for the life of the process because a unit's
    code and place in the tree never change (only its names do: see ``users.rename_unit``).
    Entries are added after the commit that read them, so a rolled-back unit is never cached."""

    def __init__(self) -> None:
        self._items: dict[int | str, UnitRef] = {}

    def get(self, key: int | str) -> UnitRef | None:
        return self._items.get(key)

    def put(self, key: int | str, ref: UnitRef) -> None:
        self._items[key] = ref


@dataclass
class Runtime:
    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]  # for work that writes
    reads: sessionmaker[Session]  # for pages and queries: never takes SQLite's write lock
    clock: Clock
    operations: OperationRegistry
    serializer: StateSerializer = field(default_factory=StateSerializer)
    workflows: WorkflowCache = field(default_factory=WorkflowCache)
    bundles: dict[str, Any] = field(default_factory=dict)  # definition content hash → ParsedBundle
    definitions: dict[int, Any] = field(default_factory=dict)  # definition id → DefinitionInfo (immutable)
    forms: dict[str, Any] = field(default_factory=dict)  # form content hash → Form
    units: UnitCache = field(default_factory=UnitCache)
    helpers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    cache_workflows: bool = True

    def dispose(self) -> None:
        self.db.dispose()


def build_runtime(settings: Settings, operations: OperationRegistry, *, clock: Clock | None = None,
                  **engine_kwargs: Any) -> Runtime:
    from rectiflow.services.audit import session_info as audit_session_info
    from rectiflow.services.helpers import script_helpers

    db = make_engine(settings.database_url, **engine_kwargs)
    sessions = make_session_factory(db)
    reads = make_session_factory(db, read_only=True)
    for factory in (sessions, reads):  # the audit log anchors its heads with a key kept out of the database
        factory.configure(info=audit_session_info(settings.secret_key))
    rt = Runtime(settings, db, sessions, reads, clock or make_clock(settings, reads), operations)
    rt.helpers = script_helpers(rt.clock)
    return rt
