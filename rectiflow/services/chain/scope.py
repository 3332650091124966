"""Scope checks for opening a round: the role alone is not enough, it must be held over the unit.

Issue 15 found an inspection office of plant B opening a round for plant A: ``create_round`` asked
for the role and never for where it was held."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.org import Unit
from rectiflow.errors import Forbidden, InvalidInput
from rectiflow.i18n import N_, Message
from rectiflow.services.accounts.users import CODE_RE


def require_round_scope(session: Session, actor: Any, unit_code: Any) -> None:
    """An administrator, or the inspection office on the inspected unit or above it. A system caller
    (a string actor: the demo, the CLI) is trusted. A code that is not storable text is refused here,
    before it reaches a query: a lone surrogate cannot even be sent to PostgreSQL."""
    if isinstance(unit_code, str) and not _storable(unit_code):
        raise InvalidInput(N_("The round was not opened."),
                           errors={"unit_code": [Message(N_("The unit code contains characters that are not text."))]})
    if isinstance(actor, str) or actor.is_admin or not isinstance(unit_code, str) or not CODE_RE.match(unit_code):
        return  # create_round names a malformed or unknown unit with the rest of its findings
    path = session.scalar(select(Unit.path).where(Unit.code == unit_code))
    if path is None:
        return
    if not actor.has_role("inspection_office", path):
        raise Forbidden(N_("Only the inspection office over this unit may open a round for it."))


def _storable(text: str) -> bool:
    """Text a database can hold: UTF-8 encodable (no lone surrogate) and without NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text
