"""Domain errors → HTTP, in one place: 404/403/409/422, JSON under /api/, pages elsewhere.
User input never produces a 500."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from rectiflow.errors import Conflict, DefinitionError, Forbidden, InvalidInput, NotFound, RectiflowError

STATUS: list[tuple[type[RectiflowError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidInput, 422),
    (DefinitionError, 422),
]


def status_for(exc: RectiflowError) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


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


def error_response(code: int, message: str, errors: dict[str, Any] | None = None) -> Any:
    if wants_json():
        body: dict[str, Any] = {"code": code, "status": titles().get(code, str(code)), "message": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), code
    return render_template(
        "error.html", code=code, title=titles().get(code, str(code)), message=message, errors=errors or {}
    ), code


def init_app(app: Flask) -> None:
    @app.errorhandler(RectiflowError)
    def _domain(exc: RectiflowError) -> Any:
        errors = exc.errors if isinstance(exc, InvalidInput) else None
        return error_response(status_for(exc), exc.message, errors)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return error_response(
            400,
            _("The form has expired or was not sent from this site. Please reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = exc.code or 500
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
