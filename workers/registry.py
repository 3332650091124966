"""The composition of the operation registry: every service-task operation the diagrams may name,
as plain functions, and the job runner's failure hooks that go with them."""

from __future__ import annotations

from rectiflow.services import notifications
from rectiflow.services.workflow.operations import OperationRegistry


def build_registry() -> OperationRegistry:
    from workers.ops import register_all

    registry = OperationRegistry()
    register_all(registry)
    # A delivery's own row records its attempts and, when its job gives up, that it is dead.
    registry.on_failure("notify.deliver", notifications.delivery_failed)
    return registry
