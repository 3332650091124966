"""Users, the organisation tree and role assignments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.errors import Conflict, InvalidInput, NotFound
from rectiflow.passwords import hash_password, password_problems, verify_password
from rectiflow.roles import ROLES
from rectiflow.services import audit


def create_unit(session: Session, clock: Clock, *, code: str, name: str, kind: str, parent_code: str | None = None,
                name_en: str = "", actor: str = "system") -> Unit:
    if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise Conflict(f"unit code '{code}' already exists")
    parent = None
    if parent_code is not None:
        parent = session.scalar(select(Unit).where(Unit.code == parent_code))
        if parent is None:
            raise NotFound(f"parent unit '{parent_code}' not found")
    unit = Unit(code=code, name=name, name_en=name_en, kind=kind, parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    audit.record(session, at=clock.now(), actor=actor, action="unit.created", object_type="unit",
                 object_id=str(unit.id), payload={"code": code, "name": name, "parent": parent_code})
    session.flush()
    return unit


def unit_by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"unit '{code}' not found")
    return unit


def create_user(session: Session, clock: Clock, *, username: str, display_name: str, password: str,
                email: str = "", locale: str = "zh_CN", actor: str = "system") -> User:
    problems = password_problems(password)
    if problems:
        raise InvalidInput("password too weak", errors={"password": problems})
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user '{username}' already exists")
    user = User(username=username, display_name=display_name, email=email, password_hash=hash_password(password),
                locale=locale, is_active=True, preferences={}, created_at=clock.now())
    session.add(user)
    session.flush()
    audit.record(session, at=clock.now(), actor=actor, action="user.created", object_type="user",
                 object_id=str(user.id), payload={"username": username})
    return user


def user_by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user '{username}' not found")
    return user


def set_password(session: Session, clock: Clock, username: str, password: str, actor: str = "system") -> None:
    problems = password_problems(password)
    if problems:
        raise InvalidInput("password too weak", errors={"password": problems})
    user = user_by_name(session, username)
    user.password_hash = hash_password(password)
    audit.record(session, at=clock.now(), actor=actor, action="user.password_set", object_type="user",
                 object_id=str(user.id))
    session.flush()


def assign(session: Session, clock: Clock, username: str, role: str, unit_code: str, actor: str = "system") -> None:
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'", errors={"role": [f"one of: {', '.join(ROLES)}"]})
    user = user_by_name(session, username)
    unit = unit_by_code(session, unit_code)
    exists = session.scalar(select(RoleAssignment.id).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == role, RoleAssignment.unit_id == unit.id))
    if exists is not None:
        return
    session.add(RoleAssignment(user_id=user.id, role=role, unit_id=unit.id, created_at=clock.now()))
    audit.record(session, at=clock.now(), actor=actor, action="role.assigned", object_type="user",
                 object_id=str(user.id), payload={"role": role, "unit": unit_code})
    session.flush()


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        verify_password("scrypt$16384$8$1$AAAA$AAAA", password)  # same cost whether or not the user exists
        return None
    return user if verify_password(user.password_hash, password) else None


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    email: str
    roles: list[dict[str, str]]


def list_users(session: Session) -> list[UserRow]:
    rows = session.execute(
        select(User, RoleAssignment.role, Unit.code, Unit.name)
        .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
        .outerjoin(Unit, Unit.id == RoleAssignment.unit_id).order_by(User.username)).all()
    out: dict[str, UserRow] = {}
    for user, role, code, name in rows:
        row = out.setdefault(user.username, UserRow(user.username, user.display_name, user.email, []))
        if role:
            row.roles.append({"role": role, "unit": code, "unit_name": name})
    return list(out.values())
