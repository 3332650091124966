"""Administration of users, the organisation tree and role assignments (admin role only).

Every change goes through ``rectiflow.services.accounts.users``, which validates and audits it; a rejected form
comes back as 422 with the messages next to their fields and the typed values kept. GET pages take the
user as a query parameter (``/admin/org/user?username=…``) so every GET route renders without an id.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from rectiflow.db.org import Unit
from rectiflow.domain.vocab import UnitKind
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.roles import ROLES, role_label
from rectiflow.services.accounts import users as us
from webapp.errors import render, render_errors
from webapp.i18n import current_locale
from webapp.labels import labels_of
from webapp.web import actor, db, runtime

bp = Blueprint("admin_org", __name__, url_prefix="/admin/org")

LOCALE_LABELS = {"zh_CN": "中文", "en": "English"}


@bp.before_request
def _admin_only() -> None:
    actor().require_role("admin")


def _errors(exc: InvalidInput) -> dict[str, list[str]]:
    """The core's field messages (message ids) in the page's language; the error itself when it names no field."""
    return render_errors(exc.errors) or {"_": [render(exc)]}


def _form(*keys: str) -> dict[str, str]:
    return {k: (request.form.get(k) or "").strip() for k in keys}


def unit_label(u: Unit) -> str:
    return (u.name_en or u.name) if current_locale() == "en" else u.name


def _tree() -> list[dict[str, Any]]:
    return [{"unit": u, "depth": d, "label": unit_label(u), "indent": "\u3000" * d} for u, d in us.unit_tree(db())]


def _roles() -> list[tuple[str, str]]:
    return [(code, f"{role_label(code, current_locale())} ({code})") for code in ROLES]


# ---------------------------------------------------------------- users


@bp.route("/")
def users() -> Any:
    q = request.args.get("q", "").strip()[:100]
    return render_template("admin/org_users.html", rows=us.list_users(db(), q), q=q)


def _render_new(form: dict[str, str], errors: dict[str, list[str]], status: int = 200) -> Any:
    return render_template("admin/org_user_new.html", form=form, errors=errors, locales=LOCALE_LABELS), status


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Any:
    if request.method == "GET":
        return _render_new({"locale": "zh_CN"}, {})
    form = _form("username", "display_name", "email", "locale")
    try:
        us.create_user(db(), runtime().clock, username=form["username"], display_name=form["display_name"],
                       email=form["email"], locale=form["locale"], password=request.form.get("password") or "",
                       actor=actor().username)
    except InvalidInput as exc:
        db().rollback()
        return _render_new(form, _errors(exc), 422)
    flash(_("User %(name)s created.", name=form["username"]), "success")
    return redirect(url_for("admin_org.user", username=form["username"]))


def _render_user(username: str, *, which: str = "", form: dict[str, str] | None = None,
                 errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    s = db()
    user = us.user_by_name(s, username)
    rows = us.list_users(s, username)
    row = next(r for r in rows if r.username == username)
    profile = {"display_name": user.display_name, "email": user.email, "locale": user.locale}
    assign_form = {"role": "", "unit": ""}
    if which == "profile" and form is not None:
        profile = form
    if which == "assign" and form is not None:
        assign_form = form
    return render_template(
        "admin/org_user.html", user=user, row=row, profile=profile, assign_form=assign_form, which=which,
        errors=errors or {}, locales=LOCALE_LABELS, roles=_roles(), tree=_tree(),
        is_self=username == actor().username,
    ), status


@bp.route("/user")
def user() -> Any:
    username = request.args.get("username", "")
    if not username:
        return redirect(url_for("admin_org.users"))
    return _render_user(username)


def _back(username: str) -> Any:
    return redirect(url_for("admin_org.user", username=username))


@bp.route("/users/<username>/profile", methods=["POST"])
def update_profile(username: str) -> Any:
    form = _form("display_name", "email", "locale")
    try:
        us.update_user(db(), runtime().clock, username, form["display_name"], form["email"], form["locale"],
                       actor().username)
    except InvalidInput as exc:
        db().rollback()
        return _render_user(username, which="profile", form=form, errors=_errors(exc), status=422)
    flash(_("Profile of %(name)s saved.", name=username), "success")
    return _back(username)


@bp.route("/users/<username>/password", methods=["POST"])
def reset_password(username: str) -> Any:
    us.user_by_name(db(), username)  # 404 before judging the password
    try:
        us.set_password(db(), runtime().clock, username, request.form.get("password") or "", actor().username)
    except InvalidInput as exc:
        db().rollback()
        return _render_user(username, which="password", errors=_errors(exc), status=422)
    flash(_("Password of %(name)s reset.", name=username), "success")
    return _back(username)


@bp.route("/users/<username>/active", methods=["POST"])
def set_active(username: str) -> Any:
    active = request.form.get("active") == "1"
    try:
        us.set_active(db(), runtime().clock, username, active, actor().username)
    except InvalidInput as exc:
        db().rollback()
        return _render_user(username, which="active", errors=_errors(exc), status=422)
    if active:
        flash(_("%(name)s can log in again.", name=username), "success")
    else:
        flash(_("%(name)s is deactivated and can no longer log in.", name=username), "success")
    return _back(username)


@bp.route("/users/<username>/roles", methods=["POST"])
def add_role(username: str) -> Any:
    form = _form("role", "unit")
    us.user_by_name(db(), username)
    errors: dict[str, list[str]] = {}
    if form["role"] not in ROLES:
        errors["role"] = [_("Choose a value from the list.")]
    try:
        us.unit_by_code(db(), form["unit"])
    except NotFound:
        errors["unit"] = [_("Choose a value from the list.")]
    if not errors:
        try:
            us.assign(db(), runtime().clock, username, form["role"], form["unit"], actor().username)
        except InvalidInput as exc:
            errors = _errors(exc)
    if errors:
        db().rollback()
        return _render_user(username, which="assign", form=form, errors=errors, status=422)
    flash(_("Role assigned."), "success")
    return _back(username)


@bp.route("/users/<username>/roles/remove", methods=["POST"])
def remove_role(username: str) -> Any:
    form = _form("role", "unit")
    try:
        us.unassign(db(), runtime().clock, username, form["role"], form["unit"], actor().username)
    except InvalidInput as exc:
        db().rollback()
        return _render_user(username, which="roles", errors=_errors(exc), status=422)
    flash(_("Role removed."), "success")
    return _back(username)


# ---------------------------------------------------------------- organisation tree


def _render_units(*, which: str = "", form: dict[str, str] | None = None,
                  errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    new_form = form if which == "new" and form is not None else {"kind": UnitKind.DEPARTMENT.value, "parent": ""}
    return render_template(
        "admin/org_units.html", tree=_tree(), kinds=labels_of(UnitKind), new_form=new_form, which=which,
        rename_form=form if which.startswith("rename:") else None, errors=errors or {},
    ), status


@bp.route("/units")
def units() -> Any:
    return _render_units()


@bp.route("/units", methods=["POST"])
def create_unit() -> Any:
    form = _form("parent", "code", "name", "name_en", "kind")
    try:
        us.create_unit(db(), runtime().clock, code=form["code"], name=form["name"], name_en=form["name_en"],
                       kind=form["kind"], parent_code=form["parent"] or None, actor=actor().username)
    except InvalidInput as exc:
        db().rollback()
        return _render_units(which="new", form=form, errors=_errors(exc), status=422)
    flash(_("Unit %(code)s created.", code=form["code"]), "success")
    return redirect(url_for("admin_org.units"))


@bp.route("/units/<code>/rename", methods=["POST"])
def rename_unit(code: str) -> Any:
    form = _form("name", "name_en")
    try:
        us.rename_unit(db(), runtime().clock, code, form["name"], form["name_en"], actor().username)
    except InvalidInput as exc:
        db().rollback()
        return _render_units(which=f"rename:{code}", form=form, errors=_errors(exc), status=422)
    flash(_("Unit %(code)s renamed.", code=code), "success")
    return redirect(url_for("admin_org.units"))
