"""Login, logout, language switch. Failed logins are throttled per username + address in the database
(``rectiflow.services.accounts.throttle``), one count shared with the API token endpoint and every
process. The session carries the account's ``auth_epoch``; ``webapp.web`` ends it when the epoch moves."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from rectiflow.db.org import User
from rectiflow.services.accounts import throttle
from rectiflow.services.accounts.users import authenticate
from webapp.i18n import LOCALES
from webapp.web import db, end_db, runtime

bp = Blueprint("auth", __name__)


def _refused(username: str, message: str, status: int, retry_after: int | None = None) -> Any:
    page = render_template("login.html", next=request.form.get("next", ""), username=username, error=message)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return page, status, headers


def _locked_out(username: str, locked: throttle.Locked) -> Any:
    minutes = -(-locked.retry_after // 60)
    return _refused(username, _("Too many failed attempts. Please wait %(minutes)d minutes and try again.",
                                minutes=minutes), 429, locked.retry_after)


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
    rt = runtime()
    end_db()  # the throttle writes in its own transaction; on SQLite the request's would block it
    key = throttle.throttle_key(username, request.remote_addr)
    locked = throttle.locked(rt.sessions, rt.clock, key)
    if locked is not None:
        return _locked_out(username, locked)
    with rt.reads() as s:
        user = authenticate(s, username, password) if username and password else None
        identity = (user.id, user.auth_epoch, user.locale) if user is not None else None
    if identity is None:
        throttle.record_failure(rt.sessions, rt.clock, key)  # the lock, if this was the last try, starts next time
        return _refused(username, _("Wrong username or password."), 401)
    throttle.clear(rt.sessions, key)
    uid, epoch, locale = identity
    chosen = session.get("locale")
    session.clear()
    session["uid"], session["epoch"] = uid, epoch
    session["locale"] = chosen if chosen in LOCALES else locale
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
