"""The Flask web front end. ``create_app(rt)`` builds an app around one runtime; nothing is bound at
import time, so tests and the embedded server can build as many apps as they like."""

from __future__ import annotations

from flask import Flask

from rectiflow.services.runtime import Runtime
from webapp.converters import BoundedIdConverter


def create_app(rt: Runtime, *, testing: bool = False) -> Flask:
    from webapp import api, errors, guard, i18n, web
    from webapp.views import admin, auth, health, inbox, instances, ledger, notices, task

    app = Flask(__name__)
    # Before any blueprint adds its rules: every <int:…> route takes a bounded id (404 beyond it).
    app.url_map.converters["int"] = BoundedIdConverter
    app.config.update(
        SECRET_KEY=rt.settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=rt.settings.secure_cookies,
        MAX_CONTENT_LENGTH=rt.settings.max_upload_bytes,
        TESTING=testing,
        WTF_CSRF_TIME_LIMIT=None,
        API_TITLE="rectiflow",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/static/vendor/swagger-ui-dist/",
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        API_SPEC_OPTIONS={"security": [{"bearer": []}]},
    )
    app.extensions["rectiflow.runtime"] = rt
    i18n.init_app(app, rt)
    guard.init_app(app)  # before web: hostile input is refused before anything reads it
    web.init_app(app, rt)
    for module in (auth, health, inbox, task, instances, admin, notices, ledger):
        app.register_blueprint(module.bp)
    from webapp.views import files, problems, rounds

    for module in (files, rounds, problems):
        app.register_blueprint(module.bp)
    from webapp.views import exchange

    app.register_blueprint(exchange.bp)
    from webapp.views import designer

    app.register_blueprint(designer.bp)
    from webapp.views import notifications_admin, preferences  # the outbox and each user's channels

    for module in (notifications_admin, preferences):
        app.register_blueprint(module.bp)
    from webapp.views import admin_org, round_oversight, stats

    for module in (admin_org, stats, round_oversight):
        app.register_blueprint(module.bp)
    api.init_app(app)
    errors.init_app(app)
    return app
