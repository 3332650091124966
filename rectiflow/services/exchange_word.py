"""Word exchange: the closure form (问题整改销号审批表) and statutory report drafts.

Both are views of the same records as the ledger: nothing here is typed twice. The report draft
is pre-filled from the data (counts by status, one line per problem, overdue and supervised
items); the narrative parts are marked 【请补充】 for the party committee to write.
Scope checks are the caller's (the web view or the CLI).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.clock import BUSINESS_TZ, WallClock
from rectiflow.db.domain import Problem, ReportMilestone, Round, Supervision
from rectiflow.db.org import Unit, User
from rectiflow.domain import schedules
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.services import chain

DECISIONS = {"submit": "提交", "approve": "同意", "return": "退回"}
REPORT_TITLES = {
    "rectification_report": "整改情况报告",
    "leader_report": "主要负责人组织落实整改情况报告",
    "phased_report": "阶段性整改情况报告",
    "annual_report": "年度整改情况报告",
}
FILL = "【请补充】"
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


def _local_date(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(BUSINESS_TZ).date().isoformat()


def _unit_name(session: Session, unit_id: int | None) -> str:
    u = session.get(Unit, unit_id) if unit_id else None
    return u.name if u else ""


def _user_name(session: Session, user_id: int | None) -> str:
    u = session.get(User, user_id) if user_id else None
    return (u.display_name or u.username) if u else ""


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
    history = chain.acceptance_history(session, p.id)
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
    if kind not in REPORT_TITLES:
        raise InvalidInput("unknown report kind", errors={"kind": [f"未知的报告类型：{kind}"]})
    rnd = session.get(Round, int(round_id))
    if rnd is None:
        raise NotFound(f"round {round_id} not found")
    today = today or WallClock().today()
    unit = _unit_name(session, rnd.unit_id)
    problems = list(rnd.problems)
    doc = _document(f"{unit}关于{rnd.title}{REPORT_TITLES[kind]}（草稿）")
    due = session.scalar(
        select(ReportMilestone.due_date).where(ReportMilestone.round_id == rnd.id, ReportMilestone.kind == kind)
    )
    meta = f"报告类型：{schedules.MILESTONE_KIND_LABELS.get(kind, REPORT_TITLES[kind])}"
    if due:
        meta += f"　　应报送日期：{due.isoformat()}"
    meta += f"　　数据截至：{today.isoformat()}"
    doc.add_paragraph(meta)
    doc.add_paragraph("巡察办、巡察工作领导小组：")
    doc.add_paragraph(
        f"根据{rnd.team or '巡察组'}于{rnd.feedback_date.isoformat()}反馈的巡察意见，{unit}党委高度重视，"
        f"对照问题清单逐项制定整改措施、明确责任部门和时限。现将整改情况报告如下。{FILL}"
    )

    doc.add_heading("一、总体情况", level=2)
    total = len(problems)
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.status] = counts.get(p.status, 0) + 1
    closed = counts.get("closed", 0)
    measures = [m for p in problems for m in p.measures]
    done_measures = sum(1 for m in measures if m.status in ("done", "accepted") or m.progress >= 100)
    overdue = [p for p in problems if p.status != "closed" and p.deadline is not None and p.deadline < today]
    rate = f"{closed * 100 / total:.1f}%" if total else "0%"
    doc.add_paragraph(
        f"巡察反馈问题共 {total} 个，已销号 {closed} 个，销号率 {rate}；"
        f"整改措施共 {len(measures)} 项，已完成 {done_measures} 项；超期未完成问题 {len(overdue)} 个。"
    )
    t = doc.add_table(rows=1, cols=2)
    t.style = "Table Grid"
    t.rows[0].cells[0].text, t.rows[0].cells[1].text = "整改状态", "问题数"
    for code, label in chain.PROBLEM_STATUSES.items():
        if counts.get(code):
            cells = t.add_row().cells
            cells[0].text, cells[1].text = label, str(counts[code])
    cells = t.add_row().cells
    cells[0].text, cells[1].text = "合计", str(total)

    doc.add_heading("二、问题整改情况", level=2)
    for p in problems:
        status = chain.PROBLEM_STATUSES.get(p.status, p.status)
        dept = _unit_name(session, p.department_id)
        line = f"{p.number}　【{status}】{p.feedback_text}（责任部门：{dept or '—'}；"
        line += f"整改时限：{p.deadline.isoformat() if p.deadline else '—'}"
        if p.status == "closed" and p.closed_at:
            line += f"；销号日期：{_local_date(p.closed_at)}"
        line += "）"
        doc.add_paragraph(line)
        for m in p.measures:
            doc.add_paragraph(
                f"　　措施{m.seq}：{m.text}，进度 {m.progress}%" + (f"，{m.progress_text}" if m.progress_text else "")
            )

    doc.add_heading("三、超期未完成问题", level=2)
    if overdue:
        for p in overdue:
            days = (today - p.deadline).days if p.deadline else 0
            doc.add_paragraph(
                f"{p.number}　{p.feedback_text}（整改时限 {p.deadline.isoformat() if p.deadline else ''}，"
                f"已超期 {days} 天；原因及下一步措施：{FILL}）"
            )
    else:
        doc.add_paragraph("无。")

    doc.add_heading("四、挂牌督办事项", level=2)
    ids = [p.id for p in problems]
    sups = (
        list(
            session.scalars(
                select(Supervision)
                .where(Supervision.problem_id.in_(ids), Supervision.status.in_(("proposed", "active")))
                .order_by(Supervision.id)
            )
        )
        if ids
        else []
    )
    by_id = {p.id: p for p in problems}
    flagged = [p for p in problems if p.supervised and p.id not in {s.problem_id for s in sups}]
    if sups or flagged:
        for s in sups:
            p = by_id[s.problem_id]
            leader = _user_name(session, s.leader_id)
            doc.add_paragraph(
                f"{p.number}　{p.feedback_text}：督办原因 {s.reason}；督办时限 {s.hard_deadline.isoformat()}；"
                f"督办领导 {leader or '—'}；解除条件 {s.removal_condition or '—'}；"
                f"当前状态 {chain.PROBLEM_STATUSES.get(p.status, p.status)}。"
            )
        for p in flagged:
            doc.add_paragraph(
                f"{p.number}　{p.feedback_text}（挂牌督办；当前状态 {chain.PROBLEM_STATUSES.get(p.status, p.status)}）"
            )
    else:
        doc.add_paragraph("无。")

    doc.add_heading("五、存在的不足和下一步工作打算", level=2)
    doc.add_paragraph(FILL)
    doc.add_paragraph("")
    end = doc.add_paragraph(f"中共{unit}委员会\n{FILL}年　月　日")
    end.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return _save(doc)
