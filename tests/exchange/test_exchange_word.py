"""Closure form (问题整改销号审批表) and statutory report drafts, read back with python-docx."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from docx import Document
from exchange_support import GOOD_ROWS, import_wb, workbook
from sqlalchemy import select

from rectiflow.db.domain import Problem, Supervision
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.services.chain import problems
from rectiflow.services.exchange import word as ew


def text_of(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    return "\n".join(parts)


def problem_id(rt, number):
    with rt.reads() as s:
        return s.scalar(select(Problem.id).where(Problem.number == number))


def close_with_trail(rt, org, pid, returned_at=None):
    """Progress, then the five acceptance steps (optionally one send-back), then closure."""
    users = {k: org["actors"][k].user_id for k in ("a_fin", "a_rect", "office", "a_boss", "leader")}
    with rt.sessions.begin() as s:
        problems.record_progress(
            s, rt.clock, pid, 100, "制度已修订", [{"text": "修订公务接待管理办法", "progress": 100}], [], users["a_fin"]
        )
        problems.record_acceptance_step(s, rt.clock, pid, "apply", "submit", "申请验收", [], users["a_fin"])
        if returned_at == "verify":
            problems.record_acceptance_step(s, rt.clock, pid, "verify", "return", "缺少报销凭证", [], users["a_rect"])
            problems.record_acceptance_step(s, rt.clock, pid, "apply", "submit", "已补充凭证", [], users["a_fin"])
        problems.record_acceptance_step(s, rt.clock, pid, "verify", "approve", "材料齐全", [], users["a_rect"])
        problems.record_acceptance_step(
            s, rt.clock, pid, "higher_opinion", "approve", "集团财务部同意", [], users["office"]
        )
        problems.record_acceptance_step(
            s, rt.clock, pid, "decision_meeting", "approve", "党委会研究同意销号", [], users["a_boss"]
        )
        problems.record_acceptance_step(
            s, rt.clock, pid, "sign_off", "approve", "领导小组同意销号", [], users["leader"]
        )
        problems.close_problem(s, rt.clock, pid)


def test_closure_form_carries_problem_measures_and_acceptance_trail(rt, office_org):
    org = office_org
    import_wb(rt, org, workbook(GOOD_ROWS))
    pid = problem_id(rt, "1.1")
    close_with_trail(rt, org, pid, returned_at="verify")
    with rt.reads() as s:
        text = text_of(ew.closure_form(s, pid))
    assert "问题整改销号审批表" in text
    assert "问题编号 | 1.1" in text and "反馈问题 | 公务接待超标准" in text
    assert "2.1 落实全面从严治党战略部署 / 落实中央八项规定精神" in text
    assert "修订公务接待管理办法" in text and "100%" in text
    trail = [line for line in text.splitlines() if line.startswith("第")]
    assert trail == [
        "第1次 | 提出验收申请 | 提交 | 申请验收 | a_fin | 2025-01-31",
        "第1次 | 核验支撑材料 | 退回 | 缺少报销凭证 | a_rect | 2025-01-31",
        "第2次 | 提出验收申请 | 提交 | 已补充凭证 | a_fin | 2025-01-31",
        "第2次 | 核验支撑材料 | 同意 | 材料齐全 | a_rect | 2025-01-31",
        "第2次 | 上级业务部门意见 | 同意 | 集团财务部同意 | office | 2025-01-31",
        "第2次 | 党组织决策会议 | 同意 | 党委会研究同意销号 | a_boss | 2025-01-31",
        "第2次 | 领导小组销号 | 同意 | 领导小组同意销号 | leader | 2025-01-31",
    ]
    assert "整改状态 | 已销号" in text and "销号日期 | 2025-01-31" in text
    assert "退回重改 1 次" in text


def test_closure_form_of_an_open_problem_and_unknown_problem(rt, office_org):
    import_wb(rt, office_org, workbook(GOOD_ROWS))
    with rt.reads() as s:
        text = text_of(ew.closure_form(s, problem_id(rt, "1.2")))
        assert "（尚未提出验收申请）" in text and "（尚未销号）" in text
        with pytest.raises(NotFound):
            ew.closure_form(s, 99999)


def test_report_draft_is_prefilled_from_the_ledger(rt, office_org):
    org = office_org
    rows = [list(r) for r in GOOD_ROWS]
    rows[1] += ["2025-01-20"]  # 1.2 is overdue on 31 January
    header = ["问题编号", "方面", "问题类别", "业务领域", "反馈问题描述", "责任部门编码", "职能部门编码", "整改时限"]
    round_id, _ = import_wb(rt, org, workbook(rows, header=header))
    close_with_trail(rt, org, problem_id(rt, "1.1"))
    with rt.sessions.begin() as s:
        p21 = s.scalar(select(Problem).where(Problem.number == "2.1.1"))
        p21.supervised = True
        s.add(
            Supervision(
                problem_id=p21.id,
                decided_by_role="inspection_office",
                reason="选人用人问题整改进度缓慢",
                leader_id=org["actors"]["a_boss"].user_id,
                hard_deadline=date(2025, 3, 31),
                removal_condition="重新履行选拔程序",
                status="active",
                created_at=rt.clock.now(),
            )
        )
    with rt.reads() as s:
        text = text_of(ew.report_draft(s, round_id, "rectification_report", today=date(2025, 1, 31)))
        phased = text_of(ew.report_draft(s, round_id, "phased_report", today=date(2025, 1, 31) + timedelta(days=1)))
        with pytest.raises(InvalidInput):
            ew.report_draft(s, round_id, "nonsense")
    assert "电厂A关于2025年第一轮巡察整改情况报告（草稿）" in text
    assert "巡察反馈问题共 3 个，已销号 1 个，销号率 33.3%；整改措施共 1 项，已完成 1 项；超期未完成问题 1 个。" in text
    assert "已销号 | 1" in text and "未启动 | 2" in text and "合计 | 3" in text
    assert (
        "1.1　【已销号】公务接待超标准（责任部门：plant_a-finance；整改时限：2025-04-30；销号日期：2025-01-31）" in text
    )
    assert "1.2　资金审批不规范（整改时限 2025-01-20，已超期 11 天" in text
    assert "2.1.1　干部选拔程序不严：督办原因 选人用人问题整改进度缓慢；督办时限 2025-03-31；督办领导 a_boss" in text
    assert "【请补充】" in text
    assert "阶段性整改情况报告" in phased and "已超期 12 天" in phased
