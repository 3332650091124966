"""My settings: notices (e-mail on or off, a daily digest instead of one mail per notice, webhooks:
generic JSON, WeCom or DingTalk robots), my password, and logging out everywhere. A password change
and a logout everywhere end every session and API token of the account, this session included."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from rectiflow.db.org import User
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.i18n import N_
from rectiflow.netpolicy import TargetPolicy, host_problem
from rectiflow.services import notifications
from rectiflow.services.accounts.users import change_own_password, end_sessions
from webapp.errors import render_errors
from webapp.web import actor, db, runtime

bp = Blueprint("preferences", __name__, url_prefix="/preferences")


def _hook_lines(hooks: list[dict[str, str]]) -> str:
    lines = []
    for h in hooks:
        parts = [h["url"]] if h["format"] == "generic" else [h["format"], h["url"]]
        if h.get("secret"):
            parts.append(h["secret"])
        lines.append(" ".join(parts))
    return "\n".join(lines)


def _parse_hooks(text: str) -> list[Any]:
    """One webhook per line: ``URL`` (generic JSON), ``wecom URL`` or ``dingtalk URL [secret]``."""
    hooks: list[Any] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] in notifications.WEBHOOK_FORMATS and len(parts) > 1:
            hook = {"format": parts[0], "url": parts[1]}
            if len(parts) > 2:
                hook["secret"] = parts[2]
            hooks.append(hook)
        else:
            hooks.append(parts[0])
    return hooks


def _me() -> User:
    user = db().get(User, actor().user_id)
    if user is None:
        raise NotFound(N_("User %(id)s not found."), id=actor().user_id)
    return user


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    user = _me()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        hooks = _parse_hooks(request.form.get("webhooks", ""))
        data = {"email": request.form.get("email") == "on", "digest": request.form.get("digest") == "on",
                "webhooks": hooks}
        try:
            _check_targets(hooks)
            notifications.set_preferences(db(), runtime().clock, user.id, data, actor().username)
        except InvalidInput as exc:
            errors = render_errors(exc.errors)
            prefs: dict[str, Any] = {"email": data["email"], "digest": data["digest"]}
            return _page(user, prefs, request.form.get("webhooks", ""), errors=errors), 400
        flash(_("Notification settings saved."), "success")
        return redirect(url_for("preferences.index"))
    prefs = notifications.preferences(user)
    return _page(user, prefs, _hook_lines(prefs["webhooks"]))


def _page(user: User, prefs: dict[str, Any], hooks: str, *, errors: dict[str, list[str]] | None = None,
          password_errors: dict[str, list[str]] | None = None) -> str:
    return render_template("preferences.html", prefs=prefs, hooks=hooks, errors=errors or {},
                           password_errors=password_errors or {}, has_email=bool(user.email))


def _check_targets(hooks: list[Any]) -> None:
    """The administrator's webhook policy, when a target is saved (sending checks it again, resolved)."""
    policy = TargetPolicy.from_settings(runtime().settings)
    errors: dict[str, list[Any]] = {}
    for i, hook in enumerate(hooks):
        url = hook if isinstance(hook, str) else hook["url"]
        try:
            parts = urlsplit(url)
        except ValueError:
            continue  # the service names a malformed URL
        if parts.scheme not in ("http", "https"):
            continue  # the service names the scheme, which is the first thing to fix
        host = parts.hostname or ""
        problem = host_problem(policy, host)
        if problem is not None:
            errors[f"webhooks.{i}"] = [problem]
    if errors:
        raise InvalidInput(N_("The notification preferences are not valid."), errors=errors)


def _signed_out(message: str) -> Any:
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["POST"])
def change_password() -> Any:
    user = _me()
    new = request.form.get("new_password") or ""
    if new != (request.form.get("confirm_password") or ""):
        errors = {"confirm_password": [_("The two new passwords differ.")]}
    else:
        try:
            change_own_password(db(), runtime().clock, user.id, request.form.get("current_password") or "", new)
        except InvalidInput as exc:
            errors = render_errors(exc.errors)
        else:
            return _signed_out(_("Your password was changed and you were logged out everywhere. "
                                 "Please log in with the new password."))
    prefs = notifications.preferences(user)
    return _page(user, prefs, _hook_lines(prefs["webhooks"]), password_errors=errors), 400


@bp.route("/logout-everywhere", methods=["POST"])
def logout_everywhere() -> Any:
    user = _me()
    end_sessions(db(), runtime().clock, user.id, actor().username)
    return _signed_out(_("You have been logged out on every device, and your API tokens no longer work."))
