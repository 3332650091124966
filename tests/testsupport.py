"""Helpers shared by the test packages. A module of its own (not conftest) because several
directories have a conftest.py and ``import conftest`` would pick whichever was loaded last."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from rectiflow.db import metadata
from rectiflow.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("RECTIFLOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2025, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 in Beijing on 31 January


def _pg_url() -> str:
    return "postgresql+psycopg://" + PG_URL.split("://", 1)[1]


_pg_ready: bool | None = None


def _require_postgres() -> str:
    global _pg_ready
    url = _pg_url()
    if _pg_ready is None:
        try:
            eng = create_engine(url)
            with eng.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            eng.dispose()
            upgrade(url)
            _pg_ready = True
        except Exception as exc:  # unreachable server, bad URL
            _pg_ready = False
            if os.environ.get("REQUIRE_POSTGRES") == "1":
                pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but unusable: {exc}")
    if not _pg_ready:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but unusable")
        pytest.skip("PostgreSQL not reachable (set REQUIRE_POSTGRES=1 to make this a failure)")
    return url


def truncate_all(url: str) -> None:
    eng = create_engine(url)
    names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
    with eng.begin() as conn:
        # TRUNCATE does not fire the row-level append-only trigger on audit_events.
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    eng.dispose()


