"""The ledger export is read by whoever downloads it: column titles, sheet names, status and warning labels
and the summary come out in the reader's language; the problem texts stay the round's own words."""

from __future__ import annotations

import io
from typing import Any

from exchange_support import GOOD_ROWS, import_wb, login, workbook
from openpyxl import load_workbook
from sqlalchemy import select

from rectiflow.db.domain import Problem
from rectiflow.db.org import User
from rectiflow.services.exchange import excel as ex


def _sheets(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_the_ledger_export_in_chinese_and_in_english(rt, office_org):
    round_id, _ = import_wb(rt, office_org, workbook(GOOD_ROWS))
    with rt.sessions.begin() as s:
        s.scalar(select(Problem).where(Problem.number == "1.2")).supervised = True
    with rt.reads() as s:
        zh = _sheets(ex.export_ledger(s, office_org["actors"]["office"], locale="zh_CN"))
        en = _sheets(ex.export_ledger(s, office_org["actors"]["office"], locale="en"))
    assert list(zh) == ["整改台账", "统计"] and list(en) == ["Rectification ledger", "Figures"]
    zh_head, en_head = zh["整改台账"][0], en["Rectification ledger"][0]
    assert zh_head[:6] == ("巡察轮次", "问题编号", "方面", "问题类别", "业务领域", "反馈问题描述")
    assert en_head[:6] == ("Inspection round", "Problem number", "Aspect", "Problem category", "Business domain",
                           "Feedback (problem description)")
    assert len(zh_head) == len(en_head) == len(ex.LEDGER_COLUMNS)
    zh_row = dict(zip(zh_head, zh["整改台账"][2], strict=True))
    en_row = dict(zip(en_head, en["Rectification ledger"][2], strict=True))
    assert zh_row["问题编号"] == en_row["Problem number"] == "1.2"
    assert (zh_row["整改状态"], en_row["Rectification status"]) == ("未启动", "Not started")
    assert (zh_row["挂牌督办"], en_row["Listed supervision"]) == ("是", "Yes")
    assert zh_row["反馈问题描述"] == en_row["Feedback (problem description)"]  # data, not translated
    assert zh_row["预警"] != en_row["Warning"] and en_row["Warning"] == "No warning"
    zh_sum, en_sum = dict(zh["统计"]), dict(en["Figures"])
    assert zh_sum["整改状态"] == "问题数" and en_sum["Rectification status"] == "Problems"
    assert zh_sum["未启动"] == en_sum["Not started"] == 3
    assert zh_sum["合计"] == en_sum["Total"] == 3 and zh_sum["挂牌督办"] == en_sum["Listed supervision"] == 1


def test_the_web_export_follows_the_readers_language(rt, office_org, client):
    import_wb(rt, office_org, workbook(GOOD_ROWS))
    with rt.sessions.begin() as s:
        s.get(User, office_org["actors"]["office"].user_id).locale = "en"
    login(client, "office")
    resp = client.get("/ledger/export.xlsx")
    assert resp.status_code == 200
    assert "filename*=UTF-8''Rectification%20ledger_" in resp.headers["Content-Disposition"]
    sheets = _sheets(resp.data)
    assert sheets["Rectification ledger"][0][1] == "Problem number" and "Figures" in sheets


def test_the_template_keeps_chinese_headers_and_explains_itself_in_the_readers_language():
    zh = load_workbook(io.BytesIO(ex.problem_list_template("four_implementations", locale="zh_CN")))
    en = load_workbook(io.BytesIO(ex.problem_list_template("four_implementations", locale="en")))
    # The headers and sheet names are the import format (the office's spreadsheets are Chinese).
    assert zh.sheetnames == en.sheetnames == ["问题清单", "填写说明", "代码表"]
    assert [c.value for c in zh["问题清单"][1]] == [c.value for c in en["问题清单"][1]] == [
        c[1] for c in ex.COLUMNS]
    zh_info = [r for r in zh["填写说明"].iter_rows(values_only=True)]
    en_info = [r for r in en["填写说明"].iter_rows(values_only=True)]
    assert zh_info[0][0] == "巡察反馈问题清单 填写说明"
    assert en_info[0][0] == "Inspection feedback problem list: how to fill it in"
    assert ("问题编号（必填）", "层级编号，如 1、1.1、1.1.1，也可写作 一、1、(1)；同一清单内不得重复。") in zh_info
    assert en_info[3][0] == "问题编号 (required)" and en_info[3][1].startswith("A hierarchical number")
    assert ("Limits", "At most 5 MB and 2000 problems; only .xlsx files are accepted.") in en_info
    assert "可选，从下拉列表选择：资金、资产、" in dict(zh_info)["业务领域"]
    assert "Optional; choose from the dropdown: 资金, 资产, " in dict(en_info)["业务领域"]
    # the category lists are the taxonomy's data, the same in both
    assert zh_info[len(zh_info) - 1] == en_info[len(en_info) - 1]
    dv = {str(d.sqref).split(":")[0]: d for d in en["问题清单"].data_validations.dataValidation}
    assert dv["C2"].error == "Choose a problem category from the dropdown."
    assert dv["C2"].errorTitle == "Problem category"
    # and a template filled in by an English reader imports like any other: the headers did not change
    assert ex.read_problem_list(_filled(en))[0]["number"] == "1.1"


def _filled(wb: Any) -> bytes:
    ws = wb["问题清单"]
    for c, value in enumerate(["1.1", "", "2.1", "", "公务接待超标准", "plant_a_finance", ""], start=1):
        ws.cell(row=2, column=c, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_the_closure_form_and_the_report_draft_in_both_languages(rt, office_org):
    from test_exchange_word import close_with_trail, problem_id, text_of

    from rectiflow.services.exchange import word as ew

    round_id, _ = import_wb(rt, office_org, workbook(GOOD_ROWS))
    close_with_trail(rt, office_org, problem_id(rt, "1.1"), returned_at="verify")
    with rt.reads() as s:
        zh = text_of(ew.closure_form(s, problem_id(rt, "1.1"), locale="zh_CN"))
        en = text_of(ew.closure_form(s, problem_id(rt, "1.1"), locale="en"))
        draft_zh = text_of(ew.report_draft(s, round_id, "rectification_report", locale="zh_CN"))
        draft_en = text_of(ew.report_draft(s, round_id, "rectification_report", locale="en"))
    assert "问题整改销号审批表" in zh and "Problem rectification closure approval form" in en
    assert "整改状态 | 已销号" in zh and "Rectification status | Closed (signed off)" in en
    assert "第1次 | 核验支撑材料 | 退回 | 缺少报销凭证 | a_rect | 2025-01-31" in zh
    assert "Attempt 1 | Verification of the evidence | Send back | 缺少报销凭证 | a_rect | 2025-01-31" in en
    assert "退回重改 1 次" in zh and "Returned for rework 1 times" in en
    assert "反馈问题 | 公务接待超标准" in zh and "Feedback | 公务接待超标准" in en  # the record stays as written
    assert "电厂A关于2025年第一轮巡察整改情况报告（草稿）" in draft_zh and "【请补充】" in draft_zh
    assert "电厂A: Rectification report on 2025年第一轮巡察 (draft)" in draft_en and "[to be completed]" in draft_en
    assert "一、总体情况" in draft_zh and "1. Overview" in draft_en and "一、总体情况" not in draft_en
    assert ("1.1  [Closed (signed off)] 公务接待超标准 (responsible department: plant_a-finance; deadline: 2025-04-30; "
            "closed on: 2025-01-31)") in draft_en
