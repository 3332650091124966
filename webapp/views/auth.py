"""Login, logout, language switch. Failed logins are limited per username + IP (in memory)."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from threading import Lock
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from rectiflow.db.org import User
from rectiflow.services.accounts.users import authenticate
from webapp.i18n import LOCALES
from webapp.web import db

bp = Blueprint("auth", __name__)
MAX_FAILURES = 5
WINDOW_S = 600.0


class FailureLimiter:
    """At most ``limit`` failures per key in a sliding window; fine for the embedded single process."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = WINDOW_S) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._prune(key, time.monotonic())) >= self.limit

    def fail(self, key: str) -> None:
        with self._lock:
            self._prune(key, time.monotonic()).append(time.monotonic())

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


limiter = FailureLimiter()


def safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if g.get("actor") is not None:
            return redirect(url_for("inbox.index"))
        return render_template("login.html", next=request.args.get("next", ""))
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    key = f"{username.lower()}|{request.remote_addr}"
    if limiter.blocked(key):
        return render_template(
            "login.html",
            next=request.form.get("next", ""),
            username=username,
            error=_("Too many failed attempts. Please wait 10 minutes and try again."),
        ), 429
    user = authenticate(db(), username, password) if username and password else None
    if user is None:
        limiter.fail(key)
        return render_template(
            "login.html",
            next=request.form.get("next", ""),
            username=username,
            error=_("Wrong username or password."),
        ), 401
    limiter.reset(key)
    chosen = session.get("locale")
    session.clear()
    session["uid"] = user.id
    session["locale"] = chosen if chosen in LOCALES else user.locale
    session.permanent = False
    return redirect(safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    session.clear()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def set_language() -> Any:
    locale = request.form.get("locale", "")
    if locale in LOCALES:
        session["locale"] = locale
        if g.get("actor") is not None:
            user = db().get(User, g.actor.user_id)
            if user is not None:
                user.locale = locale
    return redirect(
        safe_next(request.form.get("next") or request.referrer and urlsplit(request.referrer).path)
    )
