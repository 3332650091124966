"""Validated filter values. Query arguments arrive as strings (pages) or already typed (the API's
schemas); both go through these, so a bad value is one clear ``InvalidInput`` naming the parameter,
never a database error: an id past 64 bits would overflow PostgreSQL's bigint (a 500 before)."""

from __future__ import annotations

import unicodedata
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from rectiflow.errors import InvalidInput
from rectiflow.i18n import N_, Message

MAX_ID = 2**63 - 1  # the largest value of the BIGINT / INTEGER primary keys on both databases
E = TypeVar("E", bound=StrEnum)


def _invalid(name: str, msgid: str, **params: Any) -> InvalidInput:
    return InvalidInput(N_("Invalid value for the parameter %(param)s."), errors={name: [Message(msgid, **params)]},
                        param=name)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def int_param(name: str, raw: Any, low: int, high: int) -> int | None:
    """A whole number in ``low..high``; None when absent. Digits only: no sign, no spaces inside, no
    exponent, and never more digits than the bound can have (``int()`` of a huge string is slow)."""
    if _blank(raw):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _invalid(name, N_("Must be a whole number from %(min)d to %(max)d."), min=low, max=high)
    if isinstance(raw, str):
        text = raw.strip()
        if not text.isascii() or not text.isdigit() or len(text) > len(str(high)):
            raise _invalid(name, N_("Must be a whole number from %(min)d to %(max)d."), min=low, max=high)
        raw = int(text)
    if not low <= raw <= high:
        raise _invalid(name, N_("Must be a whole number from %(min)d to %(max)d."), min=low, max=high)
    return raw


def id_param(name: str, raw: Any) -> int | None:
    return int_param(name, raw, 1, MAX_ID)


def enum_param(name: str, raw: Any, enum: type[E]) -> E | None:
    if _blank(raw):
        return None
    try:
        return enum(raw)
    except ValueError:
        raise _invalid(name, N_("Must be one of: %(choices)s."), choices=tuple(e.value for e in enum)) from None


def bool_param(name: str, raw: Any) -> bool | None:
    """``1``/``0`` (what the pages' selects send), ``true``/``false`` (JSON clients), or a bool."""
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise _invalid(name, N_("Must be 1 (yes) or 0 (no)."))


def text_param(name: str, raw: Any, max_len: int) -> str | None:
    """A short code (a process key, a category): bounded, no control characters (NUL breaks PostgreSQL)."""
    if _blank(raw):
        return None
    if not isinstance(raw, str):
        raise _invalid(name, N_("Must be text of at most %(max)d characters."), max=max_len)
    text = raw.strip()
    if len(text) > max_len or any(unicodedata.category(ch).startswith("C") for ch in text):
        raise _invalid(name, N_("Must be text of at most %(max)d characters."), max=max_len)
    return text


def date_param(name: str, raw: Any) -> date | None:
    if _blank(raw):
        return None
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if len(text) == 10:  # exactly YYYY-MM-DD: fromisoformat also takes week dates and compact forms
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _invalid(name, N_("Must be a date like 2025-03-31."))
