"""Per-request plumbing: one database session per request (writes for POST, reads for GET)
committed at the edge, the current actor in ``g.actor``, CSRF, login enforcement, nav counters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Notice
from rectiflow.db.org import User
from rectiflow.errors import Forbidden, NotFound
from rectiflow.i18n import N_
from rectiflow.read.inbox import inbox_count
from rectiflow.roles import role_label
from rectiflow.services.accounts.actors import Actor, load_actor
from rectiflow.services.runtime import Runtime

csrf = CSRFProtect()
PUBLIC_ENDPOINTS = {"auth.login", "auth.logout", "health.healthz", "static", "auth.set_language"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def runtime() -> Runtime:
    return current_app.extensions["rectiflow.runtime"]


def db() -> Session:
    """The request's session, opened lazily: a write session for POST, a read session otherwise."""
    if "db" not in g:
        rt = runtime()
        g.db = (rt.sessions if request.method in WRITE_METHODS else rt.reads)()
    return g.db


def end_db() -> None:
    """Finish the request's session now, where a view commits on purpose in transactions of its own
    (uploads kept even when the form is refused, one transaction per migrated instance, the login
    throttle) or does slow work before writing: on SQLite a second writer would wait for this
    request's write lock forever. Each call says which. Services never commit."""
    s = g.pop("db", None)
    if s is not None:
        s.rollback()
        s.close()


def actor() -> Actor:
    a = g.get("actor")
    if a is None:
        raise Forbidden(N_("Please log in."))
    return a


def require_role(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            actor().require_role(*roles)
            return view(*args, **kwargs)

        return inner

    return deco


def _load_user() -> Any:
    g.actor, g.display_name, g.user_locale = None, "", None
    if request.endpoint and (
        request.endpoint == "static"
        or request.endpoint.startswith("api.")
        or request.path.startswith("/api/")
    ):
        return None
    uid = session.get("uid")
    if uid is not None:
        try:
            # The user first, held in g: load_actor then finds it in the identity map (one query, not two),
            # and so does any view asking for the current user later in the request.
            g.user = user = db().get(User, uid)
            if user is not None and session.get("epoch") != user.auth_epoch:
                # A password change or reset, a logout everywhere or a role removal ended this session.
                raise NotFound(N_("Your session has ended; please log in again."))
            g.actor = load_actor(db(), uid)
            g.display_name, g.user_locale = (user.display_name, user.locale) if user else ("", None)
        except NotFound:
            g.user = None
            session.clear()
    if g.actor is None and request.endpoint not in PUBLIC_ENDPOINTS:
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return None


def _teardown(exc: BaseException | None) -> None:
    s = g.pop("db", None)
    if s is None:
        return
    try:
        s.rollback()  # anything not committed by _after (errors, reads) is discarded
    finally:
        s.close()


def _after(response: Any) -> Any:
    # Commit at the edge, before the response leaves, so a failed commit is a 5xx and not a lie.
    s = g.get("db")
    if s is not None and request.method in WRITE_METHODS and response.status_code < 400:
        s.commit()
    return response


def nav_counts() -> dict[str, int]:
    if g.get("actor") is None:
        return {"inbox": 0, "notices": 0}
    if "nav_counts" not in g:
        s = db()
        inbox = inbox_count(s, g.actor)
        unread = (
            s.scalar(
                select(func.count(Notice.id)).where(
                    Notice.recipient_id == g.actor.user_id, Notice.read_at.is_(None)
                )
            )
            or 0
        )
        g.nav_counts = {"inbox": inbox, "notices": unread}
    return g.nav_counts


def init_app(app: Flask, rt: Runtime) -> None:
    csrf.init_app(app)
    app.before_request(_load_user)
    app.after_request(_after)
    app.teardown_request(_teardown)

    from webapp import labels

    app.add_template_filter(labels.localdt, "localdt")
    for name, fn in labels.template_globals().items():
        app.add_template_global(fn, name)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from webapp.i18n import current_locale

        return {
            "nav_counts": nav_counts,
            "role_label": lambda code: role_label(code, current_locale()),
            "current_locale": current_locale,
            "virtual_clock": rt.settings.virtual_clock,
            "now": rt.clock.now,
        }
