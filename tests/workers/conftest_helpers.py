"""Small helpers for the worker tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rectiflow.db.domain import Delivery
from rectiflow.db.jobs import Job
from rectiflow.services.workflow.operations import OperationContext


def notice_ctx(rt: Any, session: Any) -> OperationContext:
    return OperationContext(session=session, clock=rt.clock, settings=rt.settings, actor="test", runtime=rt)


def deliveries(rt: Any) -> list[Delivery]:
    with rt.reads() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def jobs_of(rt: Any, kind: str) -> list[Job]:
    with rt.reads() as s:
        return list(s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))
