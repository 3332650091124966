"""Bearer tokens for the API: signed with the secret key, valid 8 hours; a missing, expired or
forged token is a 401 with ``WWW-Authenticate: Bearer``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from rectiflow.errors import Forbidden, NotFound
from rectiflow.services.accounts.actors import load_actor
from webapp.web import db

TOKEN_MAX_AGE_S = 8 * 3600


class Unauthorized(Forbidden):
    pass


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="rectiflow-api-token")


def issue_token(user_id: int) -> str:
    return _serializer().dumps({"uid": user_id})


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _unauthorized("missing bearer token")
        try:
            payload = _serializer().loads(header[7:].strip(), max_age=TOKEN_MAX_AGE_S)
            g.actor = load_actor(db(), int(payload["uid"]))
        except SignatureExpired:
            return _unauthorized("token expired")
        except (BadSignature, KeyError, TypeError, ValueError, NotFound):
            return _unauthorized("invalid token")
        return view(*args, **kwargs)

    return inner


def _unauthorized(message: str) -> Any:
    from flask import jsonify

    resp = jsonify({"code": 401, "status": "Unauthorized", "message": message})
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = "Bearer"
    return resp
