"""Errors → HTTP, in one place: 404/403/409/422, JSON under /api/, pages elsewhere.

Rendering happens here, at the edge: a core error carries a message id and parameters
(:class:`rectiflow.errors.RectiflowError`), shown in the request's locale. Nothing internal reaches a
client: a database error caused by input is a 4xx with a generic message, anything unexpected a 500 with
a generic message and a reference; the exception text, SQL and class names go to the log only.
User input never produces a 500.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from rectiflow.error_params import code_label
from rectiflow.errors import Conflict, DefinitionError, Forbidden, InvalidInput, NotFound, RectiflowError
from rectiflow.i18n import render_all
from webapp.i18n import current_locale

log = logging.getLogger(__name__)

STATUS: list[tuple[type[RectiflowError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidInput, 422),
    (DefinitionError, 422),
]
# DB-API (PEP 249) and SQLAlchemy share these class names; a value the database refuses is the client's
# input (too long, out of range, a duplicate), so it is a 4xx, never a 500 that shows SQL.
INPUT_DB_ERRORS = {"DataError": 400, "IntegrityError": 409}


def status_for(exc: RectiflowError) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


def render(exc: RectiflowError) -> str:
    """The error's message in the request's language."""
    return exc.render(current_locale())


def render_errors(errors: dict[str, list[Any]] | None) -> dict[str, list[str]]:
    """Field messages (message ids with parameters, or text already rendered) in the request's language."""
    return render_all(errors or {}, current_locale(), code_label)


def titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Upload too large"),
        422: _("Invalid input"),
        500: _("Server error"),
    }


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: int, message: str, errors: dict[str, Any] | None = None, **extra: Any) -> Any:
    if wants_json():
        body: dict[str, Any] = {"code": code, "status": titles().get(code, str(code)), "message": message, **extra}
        if errors:
            body["errors"] = errors
        return jsonify(body), code
    return render_template(
        "error.html", code=code, title=titles().get(code, str(code)), message=message, errors=errors or {}
    ), code


def db_error_kind(exc: BaseException) -> int | None:
    """400/409 when ``exc`` (or what it wraps) is a database refusal of the input, else None."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "original_exception", None)):
        if candidate is None:
            continue
        for cls in type(candidate).__mro__:
            if cls.__name__ in INPUT_DB_ERRORS:
                return INPUT_DB_ERRORS[cls.__name__]
    return None


def _discard_session() -> None:
    """A failed statement leaves the request's session unusable; the error page itself reads (the
    navigation counts), so roll back before rendering."""
    s = g.pop("db", None)
    if s is not None:
        try:
            s.rollback()
        finally:
            s.close()


def _db_refused(code: int, exc: BaseException) -> Any:
    ref = uuid.uuid4().hex[:12]
    log.warning("database refused the input (reference %s): %s", ref, exc)
    _discard_session()
    message = (
        _("The request could not be processed: a value is out of range or not valid for the database. "
          "Nothing was saved.")
        if code == 400
        else _("The request conflicts with data that already exists. Nothing was saved.")
    )
    return error_response(code, message, reference=ref)


def _unexpected(exc: BaseException) -> Any:
    ref = uuid.uuid4().hex[:12]
    log.error("unhandled error (reference %s)", ref, exc_info=exc)
    _discard_session()
    message = _(
        "Something went wrong on the server. Nothing was saved. If it happens again, tell the administrator "
        "this reference: %(ref)s",
        ref=ref,
    )
    return error_response(500, message, reference=ref)


def init_app(app: Flask) -> None:
    @app.errorhandler(RectiflowError)
    def _domain(exc: RectiflowError) -> Any:
        errors = render_errors(exc.errors) if isinstance(exc, InvalidInput) else None
        return error_response(status_for(exc), render(exc), errors, error=exc.code)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return error_response(
            400,
            _("The form has expired or was not sent from this site. Please reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = exc.code or 500
        if isinstance(exc, InternalServerError):  # an exception outside a view (a failed commit, a hook)
            original = exc.original_exception or exc
            kind = db_error_kind(original)
            return _db_refused(kind, original) if kind else _unexpected(original)
        if wants_json():
            body: dict[str, Any] = {
                "code": code,
                "status": titles().get(code, exc.name),
                "message": exc.description or exc.name,
            }
            data = getattr(exc, "data", None)  # webargs / flask-smorest validation details
            if isinstance(data, dict) and data.get("messages"):
                body["errors"] = data["messages"]
            return jsonify(body), code
        return error_response(code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _other(exc: Exception) -> Any:
        kind = db_error_kind(exc)
        return _db_refused(kind, exc) if kind else _unexpected(exc)
