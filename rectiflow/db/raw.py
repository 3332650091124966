"""Plain DB-API statements inside the session's own transaction, for the runtime's hot path.

Completing a task writes four or five small rows. Through the ORM's unit of work that costs more
than the engine step itself (change tracking, flush ordering, statement compilation, result
processing); the same statements sent straight to the driver cost a few microseconds each. They
run on the connection the ORM session already holds, so they commit, roll back and take part in
savepoints exactly like the ORM's own writes.

Values are bound the way SQLAlchemy's column types would bind them (``UTCDateTime``, ``JSON``), so
rows written here and rows written by the ORM are indistinguishable; the tests read rows written
here back through the ORM on both databases.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


def raw_connection(session: Session) -> RawConnection:
    """The session's ``RawConnection``, made once per transaction (forgotten whenever a transaction
    of the session ends, since the next one may run on another pooled connection)."""
    raw = session.info.get(_KEY)
    if raw is None:
        raw = session.info[_KEY] = RawConnection(session)
    return raw


_KEY = "rectiflow_raw_connection"


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, _transaction: Any) -> None:
    session.info.pop(_KEY, None)


class RawConnection:
    """The driver connection under ``session`` and the binding rules of its dialect."""

    __slots__ = ("dbapi", "sqlite", "integrity_error", "_cursor")

    def __init__(self, session: Session) -> None:
        conn = session.connection()
        self.dbapi: Any = conn.connection.driver_connection
        self.sqlite = conn.dialect.name == "sqlite"
        self.integrity_error: type[Exception] = conn.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
        self._cursor: Any = None

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        """Run one statement written with ``?`` placeholders; returns the cursor."""
        if self._cursor is None:
            self._cursor = self.dbapi.cursor()
        self._cursor.execute(sql if self.sqlite else _pg(sql), params)
        return self._cursor

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            if self._cursor is None:
                self._cursor = self.dbapi.cursor()
            self._cursor.executemany(sql if self.sqlite else _pg(sql), rows)

    def when(self, value: datetime | None) -> Any:
        """Bind a ``UTCDateTime`` value."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLAlchemy's storage format on SQLite, always with six digits of microseconds (stored
        # timestamps are compared as text); ``isoformat`` is many times faster than ``strftime``.
        return value.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else value

    def json(self, value: Any) -> Any:
        """Bind a ``JSON`` value (``None`` stays SQL NULL)."""
        if value is None:
            return None
        if self.sqlite:
            return json.dumps(value, default=str)
        from psycopg.types.json import Json

        return Json(value, dumps=_dumps)

    def json_text(self, text: str) -> Any:
        """Bind a ``JSON`` value already encoded as ``text``."""
        if self.sqlite:
            return text
        from psycopg.types.json import Json

        return Json(text, dumps=_as_is)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _as_is(text: str) -> str:
    return text


_PG_CACHE: dict[str, str] = {}


def _pg(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (our statements contain no literal ``?`` or ``%``)."""
    out = _PG_CACHE.get(sql)
    if out is None:
        out = _PG_CACHE[sql] = sql.replace("?", "%s")
    return out
