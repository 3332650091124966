"""Who is calling, with which roles in which units: loaded once per request and passed down."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.errors import Forbidden, NotFound
from rectiflow.i18n import N_
from rectiflow.roles import OVERSIGHT_ROLES


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: int
    unit_path: str


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    grants: tuple[Grant, ...] = ()

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def has_role(self, role: str, unit_path: str | None = None) -> bool:
        return any(g.role == role and (unit_path is None or unit_path.startswith(g.unit_path)) for g in self.grants)

    def acts_as(self, unit_path: str, *roles: str) -> bool:
        """An administrator, or a holder of one of ``roles`` on the unit or above it."""
        return self.is_admin or any(self.has_role(role, unit_path) for role in roles)

    def can_see(self, unit_path: str) -> bool:
        """Any grant on the unit or above it; a department of plant A never matches plant B's path."""
        return any(unit_path.startswith(g.unit_path) for g in self.grants)

    def oversees(self, unit_path: str) -> bool:
        return any(g.role in OVERSIGHT_ROLES and unit_path.startswith(g.unit_path) for g in self.grants)

    def require_role(self, *roles: str) -> None:
        if not (self.roles & set(roles)):
            raise Forbidden(N_("This action needs one of the roles: %(roles)s."), roles=tuple(roles))


SYSTEM = Actor(None, "system", ())


def load_actor(session: Session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(N_("User not found."))
    rows = session.execute(
        select(RoleAssignment.role, Unit.id, Unit.path).join(Unit, Unit.id == RoleAssignment.unit_id)
        .where(RoleAssignment.user_id == user_id)
    ).all()
    return Actor(user.id, user.username, tuple(Grant(r, uid, path) for r, uid, path in rows))
