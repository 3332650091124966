"""CHECK constraints that keep a column inside its vocabulary (:mod:`rectiflow.domain.vocab`).

The models declare them with :func:`vocabulary_check`; migration 0006 adds the same constraints, built by
the same :func:`rectiflow.domain.vocab.check_in`, to databases created before them.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint

from rectiflow.domain.vocab import Vocabulary, check_in


def vocabulary_check(column: str, vocabulary: type[Vocabulary], *, allow_empty: bool = False) -> CheckConstraint:
    """``CHECK (column IN (...))`` named ``ck_<table>_<column>`` by the metadata's naming convention."""
    return CheckConstraint(check_in(column, vocabulary, allow_empty=allow_empty), name=column)
