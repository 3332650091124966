"""The operation registry: every service-task operation the diagrams may name, as plain functions."""

from __future__ import annotations

from rectiflow.services.workflow.operations import OperationRegistry


def build_registry() -> OperationRegistry:
    from workers.ops import register_all

    registry = OperationRegistry()
    register_all(registry)
    return registry
