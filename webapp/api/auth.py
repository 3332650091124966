"""Bearer tokens for the API: signed with the secret key, valid 8 hours, and carrying the account's
``auth_epoch``: a password change or reset, a logout everywhere or a role removal raises the epoch and
every token issued before it stops working. A missing, expired, forged or ended token is a 401 with
``WWW-Authenticate: Bearer``. Failed token requests count against the same database throttle as the
web login (``rectiflow.services.accounts.throttle``): too many is a 429 with ``Retry-After``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, request
from flask.views import MethodView
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from rectiflow.db.org import User
from rectiflow.errors import NotFound
from rectiflow.services.accounts import throttle
from rectiflow.services.accounts.actors import load_actor
from rectiflow.services.accounts.users import authenticate, end_sessions
from webapp.api import blp
from webapp.api.schemas import OkSchema
from webapp.web import actor, db, end_db, runtime

TOKEN_MAX_AGE_S = 8 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="rectiflow-api-token")


def issue_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "ep": user.auth_epoch})


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _unauthorized("missing bearer token")
        try:
            payload = _serializer().loads(header[7:].strip(), max_age=TOKEN_MAX_AGE_S)
            user = db().get(User, int(payload["uid"]))
            if user is None or payload.get("ep") != user.auth_epoch:
                return _unauthorized("token ended: the password was changed or the account was logged out")
            g.actor = load_actor(db(), user.id)
            g.user_locale = user.locale  # errors and labels in the token holder's language
        except SignatureExpired:
            return _unauthorized("token expired")
        except (BadSignature, KeyError, TypeError, ValueError, OverflowError, NotFound):
            return _unauthorized("invalid token")
        return view(*args, **kwargs)

    return inner


def _unauthorized(message: str) -> Any:
    resp = jsonify({"code": 401, "status": "Unauthorized", "message": message})
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = "Bearer"
    return resp


def too_many_attempts(locked: throttle.Locked) -> Any:
    minutes = -(-locked.retry_after // 60)
    resp = jsonify({"code": 429, "status": "Too Many Requests", "retry_after": locked.retry_after,
                    "message": f"too many failed attempts: try again in {minutes} minute(s)"})
    resp.status_code = 429
    resp.headers["Retry-After"] = str(locked.retry_after)
    return resp


def token_for_login(username: str, password: str) -> Any:
    """The token endpoint's body: throttled per username and address, in the database."""
    rt = runtime()
    end_db()  # the throttle writes in its own transaction; on SQLite the request's would block it
    key = throttle.throttle_key(username, request.remote_addr)
    locked = throttle.locked(rt.sessions, rt.clock, key)
    if locked is not None:
        return too_many_attempts(locked)
    with rt.reads() as s:
        user = authenticate(s, username, password)
        token = issue_token(user) if user is not None else None
    if token is None:
        throttle.record_failure(rt.sessions, rt.clock, key)  # the lock, if this was the last try, starts next time
        return _unauthorized("wrong username or password")
    throttle.clear(rt.sessions, key)
    return {"token": token, "expires_in": TOKEN_MAX_AGE_S}


@blp.route("/auth/logout-all")
class LogoutEverywhere(MethodView):
    @blp.response(200, OkSchema)
    @token_required
    def post(self) -> Any:
        """End every session and token of the caller's account, this token included."""
        a = actor()
        assert a.user_id is not None
        end_sessions(db(), runtime().clock, a.user_id, a.username)
        return {"ok": True}
