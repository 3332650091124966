"""Flask-Babel: zh_CN by default, English on request; the choice lives in the session and on the user.

Pages and the API read the one catalogue the core renders mails and documents from
(``rectiflow/translations``, see :mod:`rectiflow.i18n` for the workflow).
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, session
from flask_babel import Babel, get_locale

from rectiflow.i18n import TRANSLATIONS_DIR
from rectiflow.services.runtime import Runtime

LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    if has_request_context():
        chosen = session.get("locale")
        if chosen in LOCALES:
            return chosen
        if g.get("user_locale") in LOCALES:
            return g.user_locale
    return "zh_CN"


def current_locale() -> str:
    """The app's locale code ("zh_CN" or "en"), whatever spelling Babel uses internally."""
    loc = get_locale()
    return "en" if loc is not None and loc.language == "en" else "zh_CN"


def init_app(app: Flask, rt: Runtime) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = (
        rt.settings.default_locale if rt.settings.default_locale in LOCALES else "zh_CN"
    )
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    Babel(app, locale_selector=select_locale)
