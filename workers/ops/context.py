"""Small helpers every chain operation uses to read its context."""

from __future__ import annotations

from typing import Any

from rectiflow.services.workflow.operations import OperationContext


def runtime_of(ctx: OperationContext) -> Any:
    if ctx.runtime is None:
        raise RuntimeError("this operation needs the runtime (it starts process instances)")
    return ctx.runtime


def completed_by(ctx: OperationContext) -> int | None:
    """The user who completed the task that led here (set by the task service on every completion)."""
    v = ctx.data.get("completed_by")
    return int(v) if isinstance(v, int) else None
