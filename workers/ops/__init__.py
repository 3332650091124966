"""Service-task operations, grouped by subject. Inline ones touch only our own data inside the
trigger's transaction; ``job`` ones talk to the outside world and run after commit."""

from __future__ import annotations

from rectiflow.services.workflow.operations import OperationRegistry


def register_all(registry: OperationRegistry) -> None:
    from workers.ops import chain, notify

    for module in (chain, notify):
        module.register(registry)
