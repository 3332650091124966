"""Word exchange: the closure form (问题整改销号审批表) and statutory report drafts.

Both are views of the same records as the ledger: nothing here is typed twice. The report draft
is pre-filled from the data (counts by status, one line per problem, overdue and supervised
items); the narrative parts are marked 【请补充】 for the party committee to write.
Scope checks are the caller's (the web view or the CLI).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from sqlalchemy.orm import Session

from rectiflow.clock import WallClock
from rectiflow.db.domain import Problem, Round
from rectiflow.domain.vocab import AcceptanceDecision, AcceptanceStep, DeadlineType, ProblemStatus
from rectiflow.errors import NotFound
from rectiflow.i18n import N_, default_locale, normalise, translate
from rectiflow.services.chain import ledger as chain_ledger
from rectiflow.services.chain import reports as chain_reports

# The documents are written in their reader's language (the web passes the request's, the CLI the default);
# the records they quote (problem texts, opinions, names) are data and stay as written.
REPORT_TITLES = chain_reports.REPORT_TITLES
FILL = chain_reports.FILL
_FONTS = {"body": "宋体", "title": "黑体"}  # the fonts of an official paper: font names, not text


def _locale(locale: str | None) -> str:
    return normalise(locale) if locale else default_locale()


def _document(title: str) -> Any:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = _FONTS["body"]
    normal.font.size = Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), _FONTS["body"])
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(title)
    run.bold = True
    run.font.size = Pt(18)
    run.font.name = _FONTS["title"]
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), _FONTS["title"])
    return doc


def _save(doc: Any) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


_local_date = chain_reports.local_date
_unit_name = chain_reports.unit_name
_user_name = chain_reports.user_name


def _category_label(rnd: Round, code: str) -> str:
    for top in rnd.taxonomy or []:
        if top.get("code") == code:
            return f"{code} {top['name']}"
        for c in top.get("children", ()):
            if c.get("code") == code:
                return f"{code} {top['name']} / {c['name']}"
    return code


def _kv_table(doc: Any, rows: list[tuple[str, str]]) -> Any:
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = value
        for p in cells[0].paragraphs:
            for r in p.runs:
                r.bold = True
    return table


# ---------------------------------------------------------------------------- closure form


CLOSURE_FORM = N_("Problem rectification closure approval form")


def closure_form(session: Session, problem_id: int, locale: str | None = None) -> bytes:
    """问题整改销号审批表 for one problem: the problem, its measures and the whole acceptance trail."""
    p = session.get(Problem, int(problem_id))
    if p is None:
        raise NotFound(N_("Problem %(id)s not found."), id=problem_id)
    loc = _locale(locale)

    def _(msgid: str, **params: Any) -> str:
        return translate(loc, msgid, params)

    rnd = p.round
    doc = _document(_(CLOSURE_FORM))
    sub = doc.add_paragraph(_(N_("%(title)s (round %(number)s of %(year)s)"), title=rnd.title, year=rnd.year,
                              number=rnd.number))
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    closed = p.status == ProblemStatus.CLOSED
    _kv_table(
        doc,
        [
            (_(N_("Inspected unit")), _unit_name(session, rnd.unit_id)),
            (_(N_("Problem number")), p.number),
            (_(N_("Aspect")), p.aspect or ""),
            (_(N_("Problem category")), _category_label(rnd, p.category)),
            (_(N_("Business domain")), p.domain_tag or ""),
            (_(N_("Feedback")), p.feedback_text),
            (_(N_("Root cause analysis")), p.root_cause or ""),
            (_(N_("Responsible department")), _unit_name(session, p.department_id)),
            (_(N_("Functional department")), _unit_name(session, p.functional_department_id)),
            (_(N_("Rectification deadline")), p.deadline.isoformat() if p.deadline else ""),
            (_(N_("Rectification status")), ProblemStatus.label_of(p.status, loc)),
            (_(N_("Closed on")), _local_date(p.closed_at) if closed else _(N_("(not closed yet)"))),
        ],
    )
    doc.add_heading(_(N_("Rectification measures and their completion")), level=2)
    if p.measures:
        t = doc.add_table(rows=1, cols=5)
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, (N_("Seq."), N_("Rectification measure"), N_("Standard"),
                                                 N_("Progress"), N_("Deadline")), strict=True):
            cell.text = _(text)
        for m in p.measures:
            cells = t.add_row().cells
            cells[0].text = str(m.seq)
            cells[1].text = m.text + (f"\n{m.progress_text}" if m.progress_text else "")
            cells[2].text = m.target or ""
            cells[3].text = f"{m.progress}%"
            dl = DeadlineType.label_of(m.deadline_type, loc)
            cells[4].text = f"{dl} {m.deadline.isoformat()}" if m.deadline else dl
    else:
        doc.add_paragraph(_(N_("(no rectification measures reported yet)")))

    doc.add_heading(_(N_("Acceptance and closure")), level=2)
    history = chain_ledger.acceptance_history(session, p.id)
    if history:
        t = doc.add_table(rows=1, cols=6)
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, (N_("Attempt"), N_("Step"), N_("Decision"), N_("Opinion"),
                                                 N_("Handled by"), N_("Date")), strict=True):
            cell.text = _(text)
        for h in history:
            cells = t.add_row().cells
            cells[0].text = _(N_("Attempt %(n)s"), n=h["attempt"])
            cells[1].text = AcceptanceStep.label_of(h["step"], loc)
            cells[2].text = AcceptanceDecision.label_of(h["decision"], loc)
            cells[3].text = h["opinion"] or ""
            cells[4].text = _user_name(session, h["by_user"])
            cells[5].text = _local_date(h["at"])
    else:
        doc.add_paragraph(_(N_("(no application for acceptance yet)")))
    returned = [h for h in history if h["decision"] == AcceptanceDecision.RETURN]
    if returned:
        doc.add_paragraph(_(N_("Returned for rework %(count)s times; every return opinion is kept in the table "
                               "above."), count=len(returned)))
    doc.add_paragraph("")
    doc.add_paragraph(_(N_("Opinion of the inspection work leading group: closure approved\n\nSignature:"
                           "              Date:")) if closed else
                      _(N_("Opinion of the inspection work leading group:\n\nSignature:              Date:")))
    return _save(doc)


# ---------------------------------------------------------------------------- report draft


def report_draft(session: Session, round_id: int, kind: str, today: date | None = None,
                 locale: str | None = None) -> bytes:
    """A statutory report pre-filled from the ledger: totals, one line per problem, overdue, supervised."""
    f = chain_reports.report_figures(session, round_id, kind, today or WallClock().today())
    loc = _locale(locale)

    def _(msgid: str, **params: Any) -> str:
        return translate(loc, msgid, params)

    heading = [_(h) for h in chain_reports.HEADINGS]
    none = _(chain_reports.NONE)
    doc = _document(_(N_("%(title)s (draft)"), title=chain_reports.title(f, loc)))
    doc.add_paragraph(chain_reports.meta_line(f, loc))
    doc.add_paragraph(_(chain_reports.ADDRESSEE))
    doc.add_paragraph(chain_reports.opening(f, loc))

    doc.add_heading(heading[0], level=2)
    doc.add_paragraph(_(N_("The inspection fed back %(total)s problems, %(closed)s closed, closure rate %(rate)s; "
                           "%(measures)s rectification measures, %(done)s completed; %(overdue)s problems overdue."),
                        total=f.total, closed=f.closed, rate=f.rate, measures=len(f.measures), done=f.done_measures,
                        overdue=len(f.overdue)))
    t = doc.add_table(rows=1, cols=2)
    t.style = "Table Grid"
    t.rows[0].cells[0].text, t.rows[0].cells[1].text = _(N_("Rectification status")), _(N_("Problems"))
    for label, n in f.status_rows(loc):
        cells = t.add_row().cells
        cells[0].text, cells[1].text = label, str(n)
    cells = t.add_row().cells
    cells[0].text, cells[1].text = _(N_("Total")), str(f.total)

    doc.add_heading(heading[1], level=2)
    for p in f.problems:
        doc.add_paragraph(chain_reports.problem_line(session, p, loc))
        for m in p.measures:
            doc.add_paragraph(chain_reports.measure_line(m, loc))

    doc.add_heading(heading[2], level=2)
    for line in [chain_reports.overdue_line(f, p, loc) for p in f.overdue] or [none]:
        doc.add_paragraph(line)

    doc.add_heading(heading[3], level=2)
    for line in chain_reports.supervision_lines(session, f, loc) or [none]:
        doc.add_paragraph(line)

    doc.add_heading(heading[4], level=2)
    doc.add_paragraph(_(FILL))
    doc.add_paragraph("")
    end = doc.add_paragraph("\n".join(chain_reports.signature(f, loc)))
    end.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return _save(doc)
