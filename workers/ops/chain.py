"""Operations of the rectification chain (rounds, problems, measures, acceptance, reports)."""

from __future__ import annotations

from rectiflow.services.operations import OperationRegistry


def register(registry: OperationRegistry) -> None:
    """Filled in with the chain's processes (see processes/)."""
