"""Roles (责任体系): a view over :class:`rectiflow.domain.vocab.Role`, the one list of role codes and labels.

Lane ids in the diagrams name these codes; assignments scope them to a unit.
"""

from __future__ import annotations

from rectiflow.domain.vocab import Role

ROLES: tuple[str, ...] = Role.codes()

# Roles that read everything inside their unit's subtree, whatever the task lanes say: the group's
# oversight bodies, and the unit-level bodies that coordinate rectification inside their unit.
OVERSIGHT_ROLES = frozenset({Role.INSPECTION_OFFICE, Role.LEADING_GROUP, Role.DISCIPLINE_COMMITTEE,
                             Role.SUPERVISION_DEPARTMENT, Role.ADMIN, Role.PARTY_COMMITTEE, Role.PRINCIPAL_LEADER,
                             Role.RECTIFICATION_OFFICE})


def role_label(code: str, locale: str | None = "zh_CN") -> str:
    """The role's name in ``locale``; an unknown code is shown as it is."""
    return Role.label_of(code, locale)
