"""Organisation tree, users and role assignments scoped to a unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rectiflow.db.base import Base, UTCDateTime
from rectiflow.db.checks import vocabulary_check as _check
from rectiflow.domain import vocab as v


class Unit(Base):
    """A node of the organisation tree: group → enterprises/plants → departments.

    ``path`` is a materialised path ("/1/4/9/") so "this unit and everything below it" is one
    indexed ``LIKE 'prefix%'`` instead of a recursive query on every permission check.
    """

    __tablename__ = "units"
    __table_args__ = (_check("kind", v.UnitKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32))  # group | enterprise | department
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    path: Mapped[str] = mapped_column(String(512), index=True, default="/")

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Carried in every session and token and compared on every request: raising it (password change or
    # reset, logout everywhere, a role removed) ends all of the account's sessions and tokens at once.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    assignments: Mapped[list[RoleAssignment]] = relationship(back_populates="user", cascade="all, delete-orphan")


class RoleAssignment(Base):
    """A user holds ``role`` for ``unit`` and every unit below it."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "unit_id"),
        Index("ix_role_assignments_role_unit", "role", "unit_id"),
        _check("role", v.Role),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="assignments")
    unit: Mapped[Unit] = relationship()
