"""Excel and Word exchange: open a round from an uploaded problem list, download the template, the
ledger as .xlsx, the closure form and report drafts as .docx (all scoped like the ledger)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from rectiflow.db.domain import Round
from rectiflow.db.org import Unit
from rectiflow.domain import schedules
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.i18n import N_, translate
from rectiflow.read.ledger import LedgerFilter
from rectiflow.read.problems import visible_problem
from rectiflow.services.exchange import excel as exchange_excel
from rectiflow.services.exchange import word as exchange_word
from webapp.errors import render_errors
from webapp.i18n import current_locale
from webapp.web import actor, db, end_db, require_role, runtime

bp = Blueprint("exchange", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ROUND_FIELDS = ("unit_code", "year", "number", "title", "team", "feedback_date", "feedback_text")


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _units() -> list[Unit]:
    """Units a round can inspect: groups and enterprises in the caller's scope."""
    a = actor()
    rows = db().scalars(select(Unit).where(Unit.kind != "department").order_by(Unit.path))
    return [u for u in rows if a.can_see(u.path)]


def _sorted_errors(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Row errors in sheet order (第2行 before 第10行), file/header/round-field errors first."""

    def key(item: tuple[str, list[str]]) -> tuple[int, str]:
        m = re.match(r"^第(\d+)行", item[0])
        return (int(m.group(1)) if m else 0, item[0])

    return [(path, "；".join(msgs)) for path, msgs in sorted(errors.items(), key=key)]


def _schedule_label(code: str) -> str:
    return {
        "enterprise": _("Enterprise (the paper): reports at 3 months"),
        "regulation": _("Regulation (2015, art. 27): reports at 2 months"),
    }.get(code, code)


def _taxonomy_label(code: str) -> str:
    return {
        "four_implementations": _("Four implementations plus operations"),
        "three_weaknesses": _("The older three categories"),
    }.get(code, code)


def _render_form(
    form: dict[str, Any], errors: list[tuple[str, str]] | None = None, message: str = "", code: int = 200
) -> Any:
    return (
        render_template(
            "exchange/new_round.html",
            schedule_label=_schedule_label,
            taxonomy_label=_taxonomy_label,
            form=form,
            errors=errors or [],
            message=message,
            units=_units(),
            schedule_presets=list(schedules.SCHEDULE_PRESETS),
            taxonomy_presets=list(schedules.TAXONOMY_PRESETS),
            max_mb=exchange_excel.MAX_BYTES // (1024 * 1024),
            max_rows=exchange_excel.MAX_ROWS,
        ),
        code,
    )


@bp.route("/rounds/new", methods=["GET", "POST"])
@require_role("inspection_office")
def new_round() -> Any:
    today = runtime().clock.today()
    if request.method == "GET":
        form = {
            "year": str(today.year),
            "feedback_date": today.isoformat(),
            "schedule_preset": "enterprise",
            "taxonomy_preset": "four_implementations",
        }
        return _render_form(form)
    form = {k: (request.form.get(k) or "").strip() for k in (*ROUND_FIELDS, "schedule_preset", "taxonomy_preset")}
    form["feedback_text"] = request.form.get("feedback_text") or ""
    errors: dict[str, list[str]] = {}
    ints: dict[str, int] = {}
    for field, label in (("year", "年度"), ("number", "轮次")):
        try:
            ints[field] = int(form[field])
            if not 1 <= ints[field] <= 9999:
                raise ValueError
        except ValueError:
            errors[label] = [_("Enter a whole number between 1 and 9999.")]
    upload = request.files.get("problem_list")
    data = b""
    if upload is None or not upload.filename:
        errors[exchange_excel.FILE_KEY] = [_("Choose the problem list (.xlsx).")]
    else:
        data = upload.stream.read(exchange_excel.MAX_BYTES + 1)
        if not upload.filename.lower().endswith(".xlsx"):
            errors[exchange_excel.FILE_KEY] = [_("Only Excel workbooks in .xlsx format are accepted.")]
    if errors:
        return _render_form(form, _sorted_errors(errors), _("The round was not opened."), 422)
    preset = form["taxonomy_preset"] or "four_implementations"
    # Loading the user began this request's write transaction (on SQLite: the database's write lock).
    # End it before reading the workbook, which takes CPU; the round is written in a new one.
    end_db()
    try:
        rows = exchange_excel.read_problem_list(data, preset)
        rnd = exchange_excel.open_round(
            db(),
            runtime(),
            actor=actor(),
            rows=rows,
            taxonomy_preset=preset,
            unit_code=form["unit_code"],
            year=ints["year"],
            number=ints["number"],
            title=form["title"],
            team=form["team"],
            feedback_date=form["feedback_date"],
            feedback_text=form["feedback_text"],
            schedule_preset=form["schedule_preset"] or "enterprise",
        )
    except InvalidInput as exc:
        db().rollback()
        return _render_form(form, _sorted_errors(render_errors(exc.errors)), _("The round was not opened."), 422)
    count = len(rnd.problems)
    flash(_("Round opened with %(n)d problems.", n=count), "success")
    return redirect(url_for("rounds.show", round_id=rnd.id))


@bp.route("/rounds/template.xlsx")
@require_role("inspection_office")
def template() -> Any:
    preset = request.args.get("preset") or "four_implementations"
    if preset not in schedules.TAXONOMY_PRESETS:
        raise NotFound(N_("Unknown problem taxonomy: %(name)s"), name=preset)
    data = exchange_excel.problem_list_template(preset, locale=current_locale())
    return _download(data, _("Problem list template") + ".xlsx", XLSX)


@bp.route("/ledger/export.xlsx")
def ledger_export() -> Any:
    # The ledger page's filter, by the same query arguments: the workbook holds every row of it.
    locale = current_locale()
    data = exchange_excel.export_ledger(db(), actor(), LedgerFilter.from_args(request.args), locale=locale)
    name = translate(locale, exchange_excel.SHEET_LEDGER)
    return _download(data, f"{name}_{runtime().clock.today().isoformat()}.xlsx", XLSX)


@bp.route("/problems/<int:problem_id>/closure.docx")
def closure_form(problem_id: int) -> Any:
    p = visible_problem(db(), actor(), problem_id)
    data = exchange_word.closure_form(db(), p.id, locale=current_locale())
    return _download(data, f"{_('Closure approval form')}_{p.number}.docx", DOCX)


@bp.route("/rounds/<int:round_id>/report-draft.docx")
def report_draft(round_id: int) -> Any:
    a = actor()
    rnd = db().get(Round, round_id)
    unit = db().get(Unit, rnd.unit_id) if rnd is not None else None
    if rnd is None or unit is None or not a.can_see(unit.path):
        raise NotFound(N_("Round not found."))
    kind = request.args.get("kind") or "rectification_report"
    if kind not in exchange_word.REPORT_TITLES:
        raise NotFound(N_("Unknown report kind: %(kind)s"), kind=kind)
    locale = current_locale()
    data = exchange_word.report_draft(db(), rnd.id, kind, today=runtime().clock.today(), locale=locale)
    name = translate(locale, exchange_word.REPORT_TITLES[kind])
    return _download(data, f"{name}_{rnd.year}-{rnd.number}.docx", DOCX)
