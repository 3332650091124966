"""Users, the organisation tree and role assignments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.domain.vocab import UnitKind
from rectiflow.errors import FieldMessages, InvalidInput, NotFound
from rectiflow.i18n import N_, Message
from rectiflow.passwords import hash_password, password_problems, verify_password
from rectiflow.roles import ROLES
from rectiflow.services import audit

LOCALES = ("zh_CN", "en")
CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def _check_text(errors: FieldMessages, key: str, value: str, max_len: int, required: bool = True) -> None:
    if required and not value.strip():
        errors.setdefault(key, []).append(Message(N_("Required.")))
    elif len(value) > max_len:
        errors.setdefault(key, []).append(Message(N_("At most %(n)d characters."), n=max_len))
    elif any(ord(c) < 32 for c in value):
        errors.setdefault(key, []).append(Message(N_("No control characters.")))


def _raise(errors: FieldMessages, msgid: str, **params: Any) -> None:
    if errors:
        raise InvalidInput(msgid, errors=errors, **params)


def _profile_errors(display_name: str, email: str, locale: str) -> FieldMessages:
    errors: FieldMessages = {}
    _check_text(errors, "display_name", display_name, 200)
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors.setdefault("email", []).append(Message(N_("Not a valid e-mail address.")))
    if locale not in LOCALES:
        errors.setdefault("locale", []).append(Message(N_("Choose a value from the list.")))
    return errors


def create_unit(session: Session, clock: Clock, *, code: str, name: str, kind: str, parent_code: str | None = None,
                name_en: str = "", actor: str = "system") -> Unit:
    errors: FieldMessages = {}
    if not CODE_RE.match(code):
        errors["code"] = [Message(N_("Use letters, digits, _ - or . (at most 64)."))]
    elif session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        errors["code"] = [Message(N_("Already in use."))]
    _check_text(errors, "name", name, 200)
    _check_text(errors, "name_en", name_en, 200, required=False)
    if kind not in UnitKind.codes():
        errors["kind"] = [Message(N_("Choose a value from the list."))]
    parent = None
    if parent_code is not None:
        parent = session.scalar(select(Unit).where(Unit.code == parent_code))
        if parent is None:
            errors["parent"] = [Message(N_("Not found."))]
    _raise(errors, N_("Unit “%(code)s” was not created."), code=code)
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
        raise NotFound(N_("Unit “%(code)s” not found."), code=code)
    return unit


def create_user(session: Session, clock: Clock, *, username: str, display_name: str, password: str,
                email: str = "", locale: str = "zh_CN", actor: str = "system") -> User:
    errors = _profile_errors(display_name, email, locale)
    if not CODE_RE.match(username):
        errors["username"] = [Message(N_("Use letters, digits, _ - or . (at most 64)."))]
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = [Message(N_("Already in use."))]
    problems = password_problems(password)
    if problems:
        errors["password"] = problems
    if list(errors) == ["password"]:
        _raise(errors, N_("The password is too weak."))
    _raise(errors, N_("User “%(username)s” was not created."), username=username)
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
        raise NotFound(N_("User “%(username)s” not found."), username=username)
    return user


def set_password(session: Session, clock: Clock, username: str, password: str, actor: str = "system") -> None:
    problems = password_problems(password)
    if problems:
        raise InvalidInput(N_("The password is too weak."), errors={"password": problems})
    user = user_by_name(session, username)
    user.password_hash = hash_password(password)
    user.auth_epoch += 1  # whoever had the old password is signed out everywhere
    audit.record(session, at=clock.now(), actor=actor, action="user.password_set", object_type="user",
                 object_id=str(user.id))
    session.flush()


def change_own_password(session: Session, clock: Clock, user_id: int, current: str, new: str) -> None:
    """The account holder changes their password: the current one must be right. Every session and
    token of the account ends, this one included."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(N_("User not found."))
    if not verify_password(user.password_hash, current):
        raise InvalidInput(N_("The password was not changed."),
                           errors={"current_password": [Message(N_("The current password is wrong."))]})
    set_password(session, clock, user.username, new, actor=user.username)


def end_sessions(session: Session, clock: Clock, user_id: int, actor: str, reason: str = "logout_everywhere") -> None:
    """Log the account out everywhere: sessions and API tokens carry the epoch they were issued under."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User not found."))
    user.auth_epoch += 1
    audit.record(session, at=clock.now(), actor=actor, action="user.sessions_ended", object_type="user",
                 object_id=str(user.id), payload={"reason": reason})
    session.flush()


def assign(session: Session, clock: Clock, username: str, role: str, unit_code: str, actor: str = "system") -> None:
    if role not in ROLES:
        raise InvalidInput(N_("Unknown role “%(role)s”."), role=role,
                           errors={"role": [Message(N_("Choose a value from the list."))]})
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


def unassign(session: Session, clock: Clock, username: str, role: str, unit_code: str, actor: str = "system") -> None:
    user = user_by_name(session, username)
    unit = unit_by_code(session, unit_code)
    if role == "admin" and username == actor:
        raise InvalidInput(N_("You cannot remove your own administrator role."),
                           errors={"role": [Message(N_("You cannot remove your own administrator role."))]})
    ra = session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == role, RoleAssignment.unit_id == unit.id))
    if ra is None:
        raise NotFound(N_("%(username)s does not hold the role %(role)s in %(unit)s."), username=username, role=role,
                       unit=unit_code)
    session.delete(ra)
    user.auth_epoch += 1  # a session opened with the role does not keep acting with it
    audit.record(session, at=clock.now(), actor=actor, action="role.unassigned", object_type="user",
                 object_id=str(user.id), payload={"role": role, "unit": unit_code})
    session.flush()


def set_active(session: Session, clock: Clock, username: str, active: bool, actor: str = "system") -> None:
    """Deactivated users cannot log in, and their open sessions end on the next request."""
    user = user_by_name(session, username)
    if not active and username == actor:
        raise InvalidInput(N_("You cannot deactivate your own account."),
                           errors={"active": [Message(N_("You cannot deactivate your own account."))]})
    if user.is_active == active:
        return
    user.is_active = active
    user.auth_epoch += 1
    audit.record(session, at=clock.now(), actor=actor, action="user.activated" if active else "user.deactivated",
                 object_type="user", object_id=str(user.id), payload={"username": username})
    session.flush()


def update_user(session: Session, clock: Clock, username: str, display_name: str, email: str, locale: str,
                actor: str = "system") -> User:
    user = user_by_name(session, username)
    _raise(_profile_errors(display_name, email, locale), N_("User “%(username)s” was not updated."), username=username)
    changes = {k: [getattr(user, k), v] for k, v in
               (("display_name", display_name), ("email", email), ("locale", locale)) if getattr(user, k) != v}
    if changes:
        user.display_name, user.email, user.locale = display_name, email, locale
        audit.record(session, at=clock.now(), actor=actor, action="user.updated", object_type="user",
                     object_id=str(user.id), payload={"username": username, "changes": changes})
        session.flush()
    return user


def rename_unit(session: Session, clock: Clock, code: str, name: str, name_en: str = "",
                actor: str = "system") -> Unit:
    """Names only: a unit's place in the tree (its path) is copied onto tasks and problems, so moving a
    subtree is not offered here."""
    unit = unit_by_code(session, code)
    errors: FieldMessages = {}
    _check_text(errors, "name", name, 200)
    _check_text(errors, "name_en", name_en, 200, required=False)
    _raise(errors, N_("Unit “%(code)s” was not renamed."), code=code)
    if (unit.name, unit.name_en) != (name, name_en):
        payload = {"code": code, "name": [unit.name, name], "name_en": [unit.name_en, name_en]}
        unit.name, unit.name_en = name, name_en
        audit.record(session, at=clock.now(), actor=actor, action="unit.renamed", object_type="unit",
                     object_id=str(unit.id), payload=payload)
        session.flush()
    return unit


def unit_tree(session: Session) -> list[tuple[Unit, int]]:
    """Every unit with its depth (0 for a root), parents before children, siblings by code."""
    units = list(session.scalars(select(Unit).order_by(Unit.code)))
    children: dict[int | None, list[Unit]] = {}
    for u in units:
        children.setdefault(u.parent_id, []).append(u)
    out: list[tuple[Unit, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for u in children.get(parent, []):
            out.append((u, depth))
            walk(u.id, depth + 1)

    walk(None, 0)
    return out


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
    is_active: bool = True
    locale: str = "zh_CN"


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_users(session: Session, search: str = "") -> list[UserRow]:
    """Users with their assignments; ``search`` matches username, display name or e-mail (substring)."""
    q = (select(User, RoleAssignment.role, Unit.code, Unit.name)
         .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
         .outerjoin(Unit, Unit.id == RoleAssignment.unit_id).order_by(User.username, RoleAssignment.id))
    if search.strip():
        pattern = _like(search.strip().lower())
        q = q.where(or_(*(func.lower(col).like(pattern, escape="\\")
                          for col in (User.username, User.display_name, User.email))))
    rows = session.execute(q).all()
    out: dict[str, UserRow] = {}
    for user, role, code, name in rows:
        row = out.setdefault(user.username, UserRow(user.username, user.display_name, user.email, [],
                                                     user.is_active, user.locale))
        if role:
            row.roles.append({"role": role, "unit": code, "unit_name": name})
    return list(out.values())
