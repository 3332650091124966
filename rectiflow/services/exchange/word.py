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
from rectiflow.errors import NotFound
from rectiflow.services.chain import ledger as chain_ledger
from rectiflow.services.chain import reports as chain_reports
from rectiflow.services.chain import rounds as chain

DECISIONS = {"submit": "提交", "approve": "同意", "return": "退回"}
REPORT_TITLES = chain_reports.REPORT_TITLES
FILL = chain_reports.FILL
DEADLINE_TYPES = {
    "immediate": "立行立改",
    "by_date": "限期完成",
    "by_date_then_ongoing": "限期完成并长期坚持",
    "ongoing": "长期坚持",
}


def _document(title: str) -> Any:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "宋体"
    normal.font.size = Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(title)
    run.bold = True
    run.font.size = Pt(18)
    run.font.name = "黑体"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "黑体")
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


def closure_form(session: Session, problem_id: int) -> bytes:
    """问题整改销号审批表 for one problem: the problem, its measures and the whole acceptance trail."""
    p = session.get(Problem, int(problem_id))
    if p is None:
        raise NotFound(f"problem {problem_id} not found")
    rnd = p.round
    doc = _document("问题整改销号审批表")
    sub = doc.add_paragraph(f"{rnd.title}（{rnd.year}年第{rnd.number}轮）")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    closed = p.status == "closed"
    _kv_table(
        doc,
        [
            ("被巡察单位", _unit_name(session, rnd.unit_id)),
            ("问题编号", p.number),
            ("方面", p.aspect or ""),
            ("问题类别", _category_label(rnd, p.category)),
            ("业务领域", p.domain_tag or ""),
            ("反馈问题", p.feedback_text),
            ("原因剖析", p.root_cause or ""),
            ("责任部门", _unit_name(session, p.department_id)),
            ("职能部门", _unit_name(session, p.functional_department_id)),
            ("整改时限", p.deadline.isoformat() if p.deadline else ""),
            ("整改状态", chain.PROBLEM_STATUSES.get(p.status, p.status)),
            ("销号日期", _local_date(p.closed_at) if closed else "（尚未销号）"),
        ],
    )
    doc.add_heading("整改措施及完成情况", level=2)
    if p.measures:
        t = doc.add_table(rows=1, cols=5)
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, ("序号", "整改措施", "整改标准", "完成进度", "时限"), strict=True):
            cell.text = text
        for m in p.measures:
            cells = t.add_row().cells
            cells[0].text = str(m.seq)
            cells[1].text = m.text + (f"\n{m.progress_text}" if m.progress_text else "")
            cells[2].text = m.target or ""
            cells[3].text = f"{m.progress}%"
            dl = DEADLINE_TYPES.get(m.deadline_type, m.deadline_type)
            cells[4].text = f"{dl} {m.deadline.isoformat()}" if m.deadline else dl
    else:
        doc.add_paragraph("（尚未填报整改措施）")

    doc.add_heading("验收销号流程", level=2)
    history = chain_ledger.acceptance_history(session, p.id)
    if history:
        t = doc.add_table(rows=1, cols=6)
        t.style = "Table Grid"
        for cell, text in zip(t.rows[0].cells, ("次序", "环节", "结论", "意见", "办理人", "日期"), strict=True):
            cell.text = text
        for h in history:
            cells = t.add_row().cells
            cells[0].text = f"第{h['attempt']}次"
            cells[1].text = h["step_label"]
            cells[2].text = DECISIONS.get(h["decision"], h["decision"])
            cells[3].text = h["opinion"] or ""
            cells[4].text = _user_name(session, h["by_user"])
            cells[5].text = _local_date(h["at"])
    else:
        doc.add_paragraph("（尚未提出验收申请）")
    returned = [h for h in history if h["decision"] == "return"]
    if returned:
        doc.add_paragraph(f"退回重改 {len(returned)} 次，退回意见均已保留在上表中。")
    doc.add_paragraph("")
    doc.add_paragraph("巡察工作领导小组意见：" + ("同意销号" if closed else "") + "\n\n签字：　　　　　　　日期：")
    return _save(doc)


# ---------------------------------------------------------------------------- report draft


def report_draft(session: Session, round_id: int, kind: str, today: date | None = None) -> bytes:
    """A statutory report pre-filled from the ledger: totals, one line per problem, overdue, supervised."""
    f = chain_reports.report_figures(session, round_id, kind, today or WallClock().today())
    doc = _document(f"{chain_reports.title(f)}（草稿）")
    doc.add_paragraph(chain_reports.meta_line(f))
    doc.add_paragraph("巡察办、巡察工作领导小组：")
    doc.add_paragraph(chain_reports.opening(f))

    doc.add_heading("一、总体情况", level=2)
    doc.add_paragraph(
        f"巡察反馈问题共 {f.total} 个，已销号 {f.closed} 个，销号率 {f.rate}；"
        f"整改措施共 {len(f.measures)} 项，已完成 {f.done_measures} 项；超期未完成问题 {len(f.overdue)} 个。"
    )
    t = doc.add_table(rows=1, cols=2)
    t.style = "Table Grid"
    t.rows[0].cells[0].text, t.rows[0].cells[1].text = "整改状态", "问题数"
    for label, n in f.status_rows():
        cells = t.add_row().cells
        cells[0].text, cells[1].text = label, str(n)
    cells = t.add_row().cells
    cells[0].text, cells[1].text = "合计", str(f.total)

    doc.add_heading("二、问题整改情况", level=2)
    for p in f.problems:
        doc.add_paragraph(chain_reports.problem_line(session, p))
        for m in p.measures:
            doc.add_paragraph(chain_reports.measure_line(m))

    doc.add_heading("三、超期未完成问题", level=2)
    for line in [chain_reports.overdue_line(f, p) for p in f.overdue] or ["无。"]:
        doc.add_paragraph(line)

    doc.add_heading("四、挂牌督办事项", level=2)
    for line in chain_reports.supervision_lines(session, f) or ["无。"]:
        doc.add_paragraph(line)

    doc.add_heading("五、存在的不足和下一步工作打算", level=2)
    doc.add_paragraph(FILL)
    doc.add_paragraph("")
    end = doc.add_paragraph(f"中共{f.unit_name}委员会\n{FILL}年　月　日")
    end.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return _save(doc)
