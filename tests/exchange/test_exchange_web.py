"""/rounds/new (upload, 422 row errors, 403), the template and the scoped downloads."""

from __future__ import annotations

import io

from docx import Document
from exchange_support import GOOD_ROWS, counts, csrf_token, import_wb, login, workbook
from openpyxl import load_workbook
from sqlalchemy import select

from rectiflow.db.domain import Problem, Round

FORM = {
    "unit_code": "plant_a",
    "year": "2025",
    "number": "1",
    "title": "2025年第一轮巡察",
    "team": "第一巡察组",
    "feedback_date": "2025-01-31",
    "feedback_text": "反馈意见全文",
    "schedule_preset": "enterprise",
    "taxonomy_preset": "four_implementations",
}


def upload(client, data: bytes, filename: str = "问题清单.xlsx", **overrides):
    form = {**FORM, **overrides, "csrf_token": csrf_token(client, "/rounds/new")}
    form["problem_list"] = (io.BytesIO(data), filename)
    return client.post("/rounds/new", data=form, content_type="multipart/form-data")


def test_office_opens_a_round_from_the_uploaded_template(rt, office_org, client):
    login(client, "office")
    page = client.get("/rounds/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'enctype="multipart/form-data"' in html
    tpl = client.get("/rounds/template.xlsx?preset=three_weaknesses")
    assert tpl.status_code == 200 and tpl.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in tpl.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(tpl.data))["问题清单"]["A1"].value == "问题编号"
    resp = upload(client, workbook(GOOD_ROWS))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with rt.reads() as s:
        rnd = s.scalar(select(Round))
        assert rnd.title == "2025年第一轮巡察" and len(rnd.problems) == 3 and rnd.instance_id
    assert resp.headers["Location"].endswith(f"round={rnd.id}") or f"/rounds/{rnd.id}" in resp.headers["Location"]
    followed = client.get(resp.headers["Location"])
    assert "公务接待超标准" in followed.get_data(as_text=True)


def test_row_errors_are_listed_with_422_and_nothing_is_created(rt, office_org, client):
    login(client, "office")
    rows = [GOOD_ROWS[0], ["1.1", "", "", "", "重复", "plant_a_finance"]] + [GOOD_ROWS[1]] * 8
    rows += [["3", "", "", "", "", "plant_a_hr"]]
    resp = upload(client, workbook(rows))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "第3行 问题编号" in html and "与第2行相同" in html and "第3行 问题类别" in html
    assert "第12行 反馈问题描述" in html and "第12行 问题类别" in html
    assert html.index("第3行 问题编号") < html.index("第5行 问题编号") < html.index("第12行 问题类别")
    assert 'value="2025年第一轮巡察"' in html  # the form keeps what was typed
    assert counts(rt) == (0, 0, 0)
    # create_round's own checks come back as rows too
    resp = upload(client, workbook([["1", "", "9.9", "", "类别错", "plant_a_hr"]]))
    assert resp.status_code == 422 and "第2行 问题类别" in resp.get_data(as_text=True)
    # not an xlsx, and a missing file
    resp = upload(client, b"%PDF-1.4 not a workbook", filename="list.xlsx")
    assert resp.status_code == 422 and "不是 Excel 工作簿" in resp.get_data(as_text=True)
    resp = upload(client, workbook(GOOD_ROWS), filename="list.csv")
    assert resp.status_code == 422 and ".xlsx" in resp.get_data(as_text=True)
    resp = upload(client, workbook(GOOD_ROWS), number="x")
    assert resp.status_code == 422 and "轮次" in resp.get_data(as_text=True)
    assert counts(rt) == (0, 0, 0)


def test_upload_needs_a_csrf_token(rt, office_org, client):
    login(client, "office")
    resp = client.post(
        "/rounds/new",
        data={**FORM, "problem_list": (io.BytesIO(workbook(GOOD_ROWS)), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and counts(rt) == (0, 0, 0)


def test_other_roles_get_403(rt, office_org, client):
    login(client, "a_rect")
    assert client.get("/rounds/new").status_code == 403
    assert client.get("/rounds/template.xlsx").status_code == 403
    token = csrf_token(client, "/")
    resp = client.post(
        "/rounds/new",
        data={**FORM, "csrf_token": token, "problem_list": (io.BytesIO(workbook(GOOD_ROWS)), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403 and counts(rt) == (0, 0, 0)
    assert "/rounds/new" not in client.get("/").get_data(as_text=True)


def test_downloads_are_scoped(rt, office_org, app):
    round_id, _ = import_wb(rt, office_org, workbook(GOOD_ROWS))
    with rt.reads() as s:
        pid = s.scalar(select(Problem.id).where(Problem.number == "1.1"))
    client = app.test_client()
    login(client, "b_fin")  # plant B sees nothing of plant A
    assert client.get(f"/problems/{pid}/closure.docx").status_code == 404
    assert client.get(f"/rounds/{round_id}/report-draft.docx").status_code == 404
    ledger = load_workbook(io.BytesIO(client.get("/ledger/export.xlsx").data))["整改台账"]
    assert ledger.max_row == 1
    client = app.test_client()
    login(client, "a_hr")
    assert client.get(f"/problems/{pid}/closure.docx").status_code == 404  # finance's problem
    rows = list(
        load_workbook(io.BytesIO(client.get("/ledger/export.xlsx").data))["整改台账"].iter_rows(values_only=True)
    )
    assert [r[1] for r in rows[1:]] == ["2.1.1"]
    client = app.test_client()
    login(client, "a_fin")
    resp = client.get(f"/problems/{pid}/closure.docx")
    assert resp.status_code == 200 and resp.mimetype.endswith("wordprocessingml.document")
    assert any(
        "公务接待超标准" in c.text for t in Document(io.BytesIO(resp.data)).tables for r in t.rows for c in r.cells
    )
    client = app.test_client()
    login(client, "office")
    resp = client.get(f"/rounds/{round_id}/report-draft.docx?kind=phased_report")
    assert resp.status_code == 200
    assert "阶段性整改情况报告" in Document(io.BytesIO(resp.data)).paragraphs[0].text
    assert client.get(f"/rounds/{round_id}/report-draft.docx?kind=bogus").status_code == 404
    assert client.get("/rounds/99999/report-draft.docx").status_code == 404
    rows = list(
        load_workbook(io.BytesIO(client.get(f"/ledger/export.xlsx?round={round_id}").data))["整改台账"].iter_rows(
            values_only=True
        )
    )
    assert len(rows) == 4
