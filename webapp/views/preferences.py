"""My notification settings: e-mail on or off, a daily digest instead of one mail per notice, and
webhooks (generic JSON, WeCom or DingTalk robots)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from rectiflow.db.org import User
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.services import notifications
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
        raise NotFound("user not found")
    return user


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    user = _me()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {"email": request.form.get("email") == "on", "digest": request.form.get("digest") == "on",
                "webhooks": _parse_hooks(request.form.get("webhooks", ""))}
        try:
            notifications.set_preferences(db(), runtime().clock, user.id, data, actor().username)
        except InvalidInput as exc:
            errors = exc.errors
            prefs: dict[str, Any] = {"email": data["email"], "digest": data["digest"]}
            return render_template("preferences.html", prefs=prefs, hooks=request.form.get("webhooks", ""),
                                   errors=errors, has_email=bool(user.email)), 400
        flash(_("Notification settings saved."), "success")
        return redirect(url_for("preferences.index"))
    prefs = notifications.preferences(user)
    return render_template("preferences.html", prefs=prefs, hooks=_hook_lines(prefs["webhooks"]), errors=errors,
                           has_email=bool(user.email))
