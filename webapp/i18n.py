"""Flask-Babel: zh_CN by default, English on request; the choice lives in the session and on the user.

Messages are English msgids translated to Chinese in ``translations/zh_Hans_CN`` — the directory
carries CLDR's name for zh_CN, because Babel expands "zh_CN" to "zh_Hans_CN" when it looks for
catalogs. Workflow: ``pybabel extract -F webapp/babel.cfg -k _l -o webapp/translations/messages.pot webapp``,
``pybabel update -i webapp/translations/messages.pot -d webapp/translations``, translate,
``pybabel compile -d webapp/translations``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, session
from flask_babel import Babel, get_locale

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
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).parent / "translations")
    Babel(app, locale_selector=select_locale)
