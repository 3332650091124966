"""Problem-list template, import (row-by-row errors, nothing created) and the ledger export."""

from __future__ import annotations

import io
import zipfile

import pytest
from exchange_support import GOOD_ROWS, counts, import_wb, workbook
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from rectiflow.db.domain import Problem, Round
from rectiflow.db.runtime import ProcessInstance
from rectiflow.errors import InvalidInput
from rectiflow.read.ledger import LedgerFilter
from rectiflow.services.exchange import excel as ex


def test_template_has_headers_dropdowns_frozen_header_and_instructions():
    wb = load_workbook(io.BytesIO(ex.problem_list_template("four_implementations")))
    assert wb.sheetnames[:2] == ["问题清单", "填写说明"]
    ws = wb["问题清单"]
    assert [c.value for c in ws[1]] == [
        "问题编号",
        "方面",
        "问题类别",
        "业务领域",
        "反馈问题描述",
        "责任部门编码",
        "职能部门编码",
    ]
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["E"].width >= 40
    dvs = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert dvs["C2"].type == "list" and dvs["D2"].type == "list"
    lists = wb["代码表"]
    cats = [r[0] for r in lists.iter_rows(min_row=2, values_only=True) if r[0]]
    assert "2.1 落实中央八项规定精神" in cats and "5.3 资金资产管理" in cats
    assert dvs["C2"].formula1.endswith(f"$A${len(cats) + 1}")
    tags = [r[1] for r in lists.iter_rows(min_row=2, values_only=True) if r[1]]
    assert tags == ["资金", "资产", "采购/招投标", "选人用人", "三重一大", "中央八项规定"]
    info = " ".join(str(c) for row in wb["填写说明"].iter_rows(values_only=True) for c in row if c)
    assert "一、1、(1)" in info and "5 MB" in info
    old = load_workbook(io.BytesIO(ex.problem_list_template("three_weaknesses")))["代码表"]
    assert "1 党的领导弱化" in [r[0] for r in old.iter_rows(min_row=2, values_only=True)]
    with pytest.raises(InvalidInput):
        ex.problem_list_template("nonsense")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.1.1", "1.1.1"),
        ("一、1、(1)", "1.1.1"),
        ("一、1、（1）", "1.1.1"),
        (" 二十一、3 ", "21.3"),
        ("（三）", "3"),
        ("⑵", "2"),
        ("1．2", "1.2"),
        (1.2, "1.2"),
        (7, "7"),
        ("1.1a", None),
        ("A", None),
        ("0.1", None),
        ("", None),
    ],
)
def test_number_normalisation(raw, expected):
    assert ex.normalise_number(raw) == expected


def test_headers_match_in_english_with_whitespace_and_a_title_row():
    wb = Workbook()
    ws = wb.active
    ws.append(["XX公司巡察反馈问题清单"])
    ws.append([" Number ", "Category", "Feedback text", "Department code", " 业务 领域 ", "问题编号*"][:5])
    ws.append(["1.1", "2.1", "公务接待超标准", "plant_a_finance", "资金"])
    buf = io.BytesIO()
    wb.save(buf)
    [row] = ex.read_problem_list(buf.getvalue())
    assert row == {
        "row": 3,
        "number": "1.1",
        "aspect": "",
        "category": "2.1",
        "domain_tag": "资金",
        "feedback_text": "公务接待超标准",
        "department_code": "plant_a_finance",
        "functional_department_code": "",
    }


def test_template_round_trip_opens_round_and_starts_process(rt, office_org):
    org = office_org
    assert counts(rt) == (0, 0, 0)
    round_id, iid = import_wb(rt, org, workbook(GOOD_ROWS), schedule_preset="regulation")
    with rt.reads() as s:
        rnd = s.get(Round, round_id)
        got = {p.number: (p.category, p.domain_tag, p.feedback_text, p.aspect) for p in rnd.problems}
        assert got == {
            "1.1": ("2.1", "中央八项规定", "公务接待超标准", "落实全面从严治党战略部署"),
            "1.2": ("5.3", "资金", "资金审批不规范", "生产经营"),
            "2.1.1": ("3.1", "选人用人", "干部选拔程序不严", "落实新时代党的组织路线"),
        }
        assert rnd.schedule["name"] == "regulation"
        p11 = s.scalar(select(Problem).where(Problem.round_id == round_id, Problem.number == "1.1"))
        assert p11.functional_department_id == org["units"]["group_finance"]
        inst = s.get(ProcessInstance, iid)
        assert inst.process_key == "round" and inst.business_key == f"round:{round_id}"
    assert counts(rt)[:2] == (1, 3)


BAD_CASES = {
    "empty required cells": (
        [GOOD_ROWS[0], ["1.2", "", "", "", "资金审批不规范", "", None]],
        {"第3行 问题类别": "必填", "第3行 责任部门编码": "必填"},
    ),
    "duplicate numbers": (
        [GOOD_ROWS[0], ["1.1", "", "5.3", "", "重复编号", "plant_a_finance"]],
        {"第3行 问题编号": "与第2行相同"},
    ),
    "bad number": ([["1.x", "", "5.3", "", "编号错误", "plant_a_finance"]], {"第2行 问题编号": "无法识别的编号"}),
    "unknown category (create_round)": (
        [GOOD_ROWS[0], GOOD_ROWS[1], ["3.1", "", "9.9", "", "类别错误", "plant_a_hr"]],
        {"第4行 问题类别": "未知的问题类别：9.9"},
    ),
    "unknown tag and department (create_round)": (
        [["1.1", "", "2.1", "赌博", "部门错误", "nowhere"]],
        {"第2行 业务领域": "未知的业务领域", "第2行 责任部门编码": "未知单位：nowhere"},
    ),
    "department of another unit (create_round)": (
        [GOOD_ROWS[0], ["3.2", "", "3.1", "", "外单位部门", "plant_b_hr"]],
        {"第3行 责任部门编码": "责任部门不属于被巡察单位"},
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_rows_name_row_and_column_and_create_nothing(rt, office_org, case):
    rows, expected = BAD_CASES[case]
    before = counts(rt)
    with pytest.raises(InvalidInput) as err:
        import_wb(rt, office_org, workbook(rows))
    errors = err.value.render_errors("zh_CN")
    assert set(errors) == set(expected), errors
    for key, fragment in expected.items():
        assert any(fragment in m for m in errors[key]), (key, errors[key])
    assert counts(rt) == before == (0, 0, 0)


def test_missing_required_columns(rt, office_org):
    data = workbook([["1.1", "公务接待超标准"]], header=["问题编号", "反馈问题描述"])
    with pytest.raises(InvalidInput) as err:
        import_wb(rt, office_org, data)
    assert set(err.value.errors) == {"表头 问题类别", "表头 责任部门编码"}
    assert "缺少必填列“问题类别”" in err.value.render_errors("zh_CN")["表头 问题类别"]
    assert err.value.render_errors("en")["表头 问题类别"] == ["The required column “问题类别” is missing."]
    assert counts(rt) == (0, 0, 0)


def _zip(names: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in names.items():
            zf.writestr(name, content)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"number,category\n1.1,2.1\n", "不是 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (_zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}), "Word"),
        (b"PK\x03\x04" + b"\0" * 50, "已损坏"),
        (_zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"not xml"}), "无法读取"),
        (b"", "文件为空"),
    ],
)
def test_not_an_xlsx(data, fragment):
    with pytest.raises(InvalidInput) as err:
        ex.read_problem_list(data)
    assert any(fragment in m for m in err.value.render_errors("zh_CN")["文件"]), err.value.errors


def test_not_an_xlsx_creates_nothing(rt, office_org):
    with pytest.raises(InvalidInput):
        import_wb(rt, office_org, b"hello")
    assert counts(rt) == (0, 0, 0)


def test_size_limits(monkeypatch):
    with pytest.raises(InvalidInput) as err:
        ex.read_problem_list(b"PK\x03\x04" + b"\0" * ex.MAX_BYTES)
    assert "不得超过 5 MB" in err.value.render_errors("zh_CN")["文件"][0]
    monkeypatch.setattr(ex, "MAX_ROWS", 5)
    rows = [[f"{i}", "", "2.1", "", f"问题{i}", "plant_a_finance"] for i in range(1, 7)]
    with pytest.raises(InvalidInput) as err:
        ex.read_problem_list(workbook(rows))
    assert "超过 5 行" in err.value.render_errors("zh_CN")["文件"][0]
    assert len(ex.read_problem_list(workbook(rows[:5]))) == 5


def test_empty_list_is_refused():
    with pytest.raises(InvalidInput) as err:
        ex.read_problem_list(workbook([]))
    assert "问题清单" in err.value.errors


def test_existing_round_is_reported_and_department_names_accepted(rt, office_org):
    rows = [["1", "", "2.1", "", "以名称填写的责任部门", "plant_a-finance"]]  # the unit's name, not its code
    round_id, _ = import_wb(rt, office_org, workbook(rows))
    with rt.reads() as s:
        assert s.get(Round, round_id).problems[0].department_id == office_org["units"]["plant_a_finance"]
    with pytest.raises(InvalidInput) as err:
        import_wb(rt, office_org, workbook(rows))
    assert "2025 年第 1 轮已存在" in err.value.render_errors("zh_CN")["轮次"][0]
    assert counts(rt)[:2] == (1, 1)


def _sheet(data: bytes, name: str) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data))
    return [tuple(r) for r in wb[name].iter_rows(values_only=True)]


def test_ledger_export_respects_scope_and_filters(rt, office_org):
    org = office_org
    round_id, _ = import_wb(rt, org, workbook(GOOD_ROWS))
    with rt.sessions.begin() as s:
        s.scalar(select(Problem).where(Problem.number == "1.2")).supervised = True
    with rt.reads() as s:
        everything = _sheet(ex.export_ledger(s, org["actors"]["office"]), "整改台账")
        hr = _sheet(ex.export_ledger(s, org["actors"]["a_hr"]), "整改台账")
        plant_b = _sheet(ex.export_ledger(s, org["actors"]["b_rect"]), "整改台账")
        supervised = _sheet(ex.export_ledger(s, org["actors"]["office"], LedgerFilter(supervised=True)), "整改台账")
        summary = dict(_sheet(ex.export_ledger(s, org["actors"]["office"], LedgerFilter(round=round_id)), "统计"))
    head = everything[0]
    assert head[:6] == ("巡察轮次", "问题编号", "方面", "问题类别", "业务领域", "反馈问题描述")
    col = {name: i for i, name in enumerate(head)}
    assert [r[col["问题编号"]] for r in everything[1:]] == ["1.1", "1.2", "2.1.1"]
    first = everything[1]
    assert first[col["问题类别"]] == "2.1 落实中央八项规定精神"
    assert first[col["责任部门"]] == "plant_a-finance" and first[col["整改状态"]] == "未启动"
    assert first[col["整改时限"]] == "2025-04-30"
    assert [r[col["问题编号"]] for r in hr[1:]] == ["2.1.1"]
    assert plant_b == [head]
    assert [(r[col["问题编号"]], r[col["挂牌督办"]]) for r in supervised[1:]] == [("1.2", "是")]
    assert summary["未启动"] == 3 and summary["合计"] == 3 and summary["挂牌督办"] == 1
