"""Small helpers for the worker tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rectiflow.db.domain import Delivery
from rectiflow.db.jobs import Job


def deliveries(rt: Any) -> list[Delivery]:
    with rt.reads() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def jobs_of(rt: Any, kind: str) -> list[Job]:
    with rt.reads() as s:
        return list(s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))
