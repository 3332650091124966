"""Engine and session factory. SQLite gets WAL and a busy timeout so the embedded mode can run the
web server, the scheduler and the CLI against one file at the same time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy manage transactions; pysqlite's own BEGIN handling defeats BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock up front: a deferred transaction that reads and then writes
            # fails with SQLITE_BUSY when another writer got in between, instead of simply waiting.
            # Readers (``read_only=True`` sessions) stay deferred and never block anyone under WAL.
            # Straight to the driver: through ``exec_driver_sql`` this statement cost as much as a
            # trigger's own writes (an execution context per transaction).
            begin = "BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE"
            conn.connection.driver_connection.execute(begin)

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    bind = engine.execution_options(read_only=True) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)
