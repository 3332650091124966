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

from collections.abc import Mapping
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


@lru_cache(maxsize=4)
def _catalogue(locale: str) -> NullTranslations:
    if locale == "en":  # msgids are English
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), ["zh_Hans_CN"])


def translate(locale: str | None, msgid: str, params: Mapping[str, Any] | None = None, **kw: Any) -> str:
    """``msgid`` in ``locale`` with ``%(name)s`` parameters filled in (missing ones stay visible)."""
    text = _catalogue(normalise(locale)).gettext(msgid)
    values = {**(params or {}), **kw}
    if not values:
        return text
    try:
        return text % values
    except (KeyError, ValueError, TypeError):
        return text
