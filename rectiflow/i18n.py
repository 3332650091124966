"""The one translation catalogue, for the core as for the web edge.

Messages are English msgids translated to Chinese in ``rectiflow/translations/zh_Hans_CN`` (CLDR's name
for zh_CN: Babel expands "zh_CN" to "zh_Hans_CN" when it looks for catalogs). The core marks a message
id with :func:`N_` where it is defined (an error, a label, a mail subject) and renders it only at the
edge: Flask-Babel reads the same directory for pages and the API; mails, Excel and Word documents and
the CLI render through :func:`translate`.

Workflow: ``make messages`` extracts ``rectiflow/`` (keyword ``N_``) and ``webapp/`` (``_``, ``_l``),
updates the catalogue and compiles it; translate the new entries in between.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


def N_(msgid: str) -> str:  # noqa: N802  (gettext's conventional name for "mark, do not translate yet")
    """Mark ``msgid`` for extraction; it is translated later, where the reader's locale is known."""
    return msgid


def normalise(locale: str | None) -> str:
    """``zh``, ``zh-CN``, ``zh_Hans_CN`` → ``zh_CN``; ``en_US`` → ``en``; anything else → the default."""
    code = (locale or DEFAULT_LOCALE).replace("-", "_").lower()
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def default_locale() -> str:
    """The locale of output with no reader to ask (the CLI, logs shown to an operator):
    ``RECTIFLOW_DEFAULT_LOCALE``, Chinese when unset."""
    return normalise(os.environ.get("RECTIFLOW_DEFAULT_LOCALE"))


@lru_cache(maxsize=4)
def _catalogue(locale: str) -> NullTranslations:
    if locale == "en":  # msgids are English
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), ["zh_Hans_CN"])


# How the edge shows a parameter that is itself a code (a status, a role): (name, value, locale) → label,
# or None to show the value as it is. The core has no labels for most codes; the web edge has.
LabelFn = Callable[[str, Any, str], "str | None"]


def translate(locale: str | None, msgid: str, params: Mapping[str, Any] | None = None, *,
              labels: LabelFn | None = None, **kw: Any) -> str:
    """``msgid`` in ``locale`` with ``%(name)s`` parameters filled in (missing ones stay visible).

    A parameter that is a :class:`Message` is rendered in the same locale; ``labels`` turns codes into
    their labels."""
    loc = normalise(locale)
    text = _catalogue(loc).gettext(msgid)
    values = {**(params or {}), **kw}
    if not values:
        return text
    shown = {k: _param(k, v, loc, labels) for k, v in values.items()}
    try:
        return text % shown
    except (KeyError, ValueError, TypeError):
        return text


def _param(name: str, value: Any, locale: str, labels: LabelFn | None) -> Any:
    if isinstance(value, Message):
        return value.render(locale, labels)
    if isinstance(value, (list, tuple)):  # several codes or messages: each shown, joined the locale's way
        return ("、" if locale == "zh_CN" else ", ").join(str(_param(name, v, locale, labels)) for v in value)
    if labels is not None and isinstance(value, str):
        label = labels(name, value, locale)
        if label is not None:
            return label
    return value


class Message:
    """A message id and its parameters, rendered where the reader's locale is known.

    The core stores these (in an error's field messages, in a notice) instead of prose; ``str()`` is the
    English rendering, for logs and tests."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def render(self, locale: str | None, labels: LabelFn | None = None) -> str:
        return translate(locale, self.msgid, self.params, labels=labels)

    def to_json(self) -> dict[str, Any]:
        """Storable form (``{"msgid": …, "params": {…}}``); :meth:`from_json` reads it back."""
        return {"msgid": self.msgid, "params": {k: v.to_json() if isinstance(v, Message) else v
                                                for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        params = {k: cls.from_json(v) if isinstance(v, Mapping) and "msgid" in v else v
                  for k, v in (data.get("params") or {}).items()}
        return cls(str(data["msgid"]), **params)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return (self.msgid, self.params) == (other.msgid, other.params)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.msgid)


def render_all(messages: Mapping[str, list[Any]], locale: str | None,
               labels: LabelFn | None = None) -> dict[str, list[str]]:
    """Field → messages (``Message`` or text already rendered) → field → text in ``locale``."""
    return {field: [m.render(locale, labels) if isinstance(m, Message) else str(m) for m in items]
            for field, items in messages.items()}
