"""The operation registry contract. ``workers`` fills a registry with plain functions; the
services call them by name when a service task runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rectiflow.clock import Clock
    from rectiflow.config import Settings
    from rectiflow.db.jobs import Job
    from rectiflow.services.runtime import Runtime

# Called by the job runner in the transaction that records a failed attempt of a job:
# (session, job, error, final). The operation's own transaction has rolled back by then.
FailureHook = Callable[["Session", "Job", str, bool], None]


@dataclass
class OperationContext:
    """What an operation may use. Inline operations get the trigger's session; jobs get their own."""

    session: Session
    clock: Clock
    settings: Settings
    instance_id: int | None = None
    task_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    actor: str = "system"
    # The runtime, for operations that start or signal other instances inside the same transaction.
    runtime: Runtime | None = None


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # str | int | date | list | dict | any
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Operation:
    name: str
    fn: Callable[[OperationContext, dict[str, Any]], Any]
    mode: Literal["inline", "job"]
    params: tuple[Param, ...] = ()
    description: str = ""
    max_attempts: int = 5


class UnknownOperation(KeyError):
    pass


class OperationRegistry:
    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self._failure_hooks: dict[str, FailureHook] = {}

    def register(self, op: Operation) -> Operation:
        if op.name in self._ops:
            raise ValueError(f"operation {op.name!r} registered twice")
        self._ops[op.name] = op
        return op

    def get(self, name: str) -> Operation:
        try:
            return self._ops[name]
        except KeyError:
            raise UnknownOperation(name) from None

    def on_failure(self, name: str, hook: FailureHook) -> None:
        """Given at composition (``workers.registry``), next to the operation it belongs to."""
        self.get(name)  # a hook for an operation nobody registered is a composition mistake
        self._failure_hooks[name] = hook

    def failure_hook(self, name: str) -> FailureHook | None:
        return self._failure_hooks.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def __iter__(self) -> Iterator[Operation]:
        return iter(sorted(self._ops.values(), key=lambda o: o.name))

    def missing_params(self, name: str, given: Mapping[str, Any]) -> list[str]:
        return [p.name for p in self.get(name).params if p.required and p.name not in given]
