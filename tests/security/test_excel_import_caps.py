"""Excel import reads at most the row cap, converts what it can and names what it cannot, and never
holds a transaction while it reads; exports write formula-looking text as text (issue 15, fault 8).

Before the fix a 500 KB sheet declaring ``A1:XFD100001`` with one cell per row cost 47 s of CPU
(every row padded to 16 384 columns, only non-blank rows counted) while the upload's transaction
held SQLite's write lock: eight at once gave two 500s "database is locked"."""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
from collections.abc import Callable
from typing import Any, cast

import pytest
from click.testing import CliRunner
from flask import g, has_request_context
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from rectiflow.errors import InvalidInput
from rectiflow.services.exchange import excel as ex
from rectiflow_cli import exchange_commands
from rectiflow_cli.main import main
from tests.exchange.conftest import office_org  # noqa: F401  (fixture)
from tests.exchange.exchange_support import GOOD_ROWS as _GOOD_ROWS
from tests.exchange.exchange_support import ROUND, counts, csrf_token, import_wb, login, workbook

GOOD_ROWS = cast(list[list[Any]], _GOOD_ROWS)

UPLOAD = {"unit_code": "plant_a", "year": "2025", "number": "1", "title": "2025年第一轮巡察", "team": "第一巡察组",
          "feedback_date": "2025-01-31", "feedback_text": "反馈意见全文", "schedule_preset": "enterprise",
          "taxonomy_preset": "four_implementations"}


def upload(client: Any, data: bytes) -> Any:
    form: dict[str, Any] = {**UPLOAD, "csrf_token": csrf_token(client, "/rounds/new")}
    form["problem_list"] = (io.BytesIO(data), "问题清单.xlsx")
    return client.post("/rounds/new", data=form, content_type="multipart/form-data")


def _patch_sheet(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            z.writestr(info, change(body) if info.filename == "xl/worksheets/sheet1.xml" else body)
    return out.getvalue()


def _far_right_rows(body: bytes) -> bytes:
    body = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:XFD100001"/>', body)
    rows = b"".join(b'<row r="%d"><c r="XFD%d" t="inlineStr"><is><t>x</t></is></c></row>' % (r, r)
                    for r in range(5, 100_002))
    return body.replace(b"</sheetData>", rows + b"</sheetData>")


def _file_error(exc: InvalidInput) -> str:
    return " ".join(m.render("en") for m in exc.errors[ex.FILE_KEY])


def test_a_sheet_declaring_a_huge_range_stops_at_the_row_cap() -> None:
    data = _patch_sheet(workbook(GOOD_ROWS), _far_right_rows)
    assert len(data) < 1024 * 1024  # small on disk: the cost was in reading it
    with pytest.raises(InvalidInput) as info:
        ex.read_problem_list(data)
    assert f"more than {ex.MAX_SHEET_ROWS} rows" in _file_error(info.value)


def test_rows_up_to_the_cap_are_read_blank_ones_included() -> None:
    rows = [*GOOD_ROWS, *([[None] * 7] * (ex.MAX_SHEET_ROWS - 10)), ["9.9", "", "5.3", "", "末行问题", "plant_a_hr"]]
    parsed = ex.read_problem_list(workbook(rows))
    assert [p["number"] for p in parsed] == ["1.1", "1.2", "2.1.1", "9.9"]


@pytest.mark.parametrize("cell", [
    b'<c r="A2"><f>"x"</f><v>x</v></c>',           # a formula with a text result but no type
    b'<c r="A2"><v>abc</v></c>',                    # text in a cell typed as a number by default
    b'<c r="A2" t="d"><v>not a date</v></c>',
    b'<c r="A2" t="s"><v>99999</v></c>',            # a shared string that does not exist
    b'<c r="A2" t="b"><v>x</v></c>',
])
def test_cells_that_cannot_be_converted_are_a_422_naming_the_row(cell: bytes) -> None:
    data = _patch_sheet(workbook(GOOD_ROWS), lambda body: re.sub(rb'<c r="A2"[^>]*?(/>|>.*?</c>)', cell, body,
                                                                count=1))
    with pytest.raises(InvalidInput) as info:
        ex.read_problem_list(data)
    assert "Row 2 cannot be read" in _file_error(info.value)


@pytest.mark.usefixtures("office_org")
def test_the_upload_page_answers_a_bad_cell_with_422_in_chinese(rt: Any, org: Any, client: Any) -> None:
    login(client, "office")
    data = _patch_sheet(workbook(GOOD_ROWS), lambda body: re.sub(rb'<c r="A2"[^>]*?(/>|>.*?</c>)',
                                                                b'<c r="A2"><v>abc</v></c>', body, count=1))
    resp = upload(client, data)
    assert resp.status_code == 422
    assert "第2行无法读取" in resp.get_data(as_text=True)
    assert counts(rt) == (0, 0, 0)


def _write_lock_free(url: str) -> bool:
    """Whether another connection could write right now (nobody holds a transaction open)."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.rollback()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            con.close()
    engine = create_engine(url)
    try:
        with engine.connect() as pg:
            return not pg.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                       " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
    finally:
        engine.dispose()


@pytest.fixture
def lock_spy(rt: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """(a request session is open, another connection could write) when the workbook is read."""
    seen: list[tuple[bool, bool]] = []
    original = ex.read_problem_list

    def spy(data: bytes, taxonomy_preset: str = "four_implementations") -> list[dict[str, Any]]:
        seen.append((has_request_context() and "db" in g, _write_lock_free(rt.settings.database_url)))
        return original(data, taxonomy_preset)

    monkeypatch.setattr(ex, "read_problem_list", spy)
    return seen


@pytest.mark.usefixtures("office_org")
def test_the_upload_reads_the_workbook_with_no_transaction_open(rt: Any, org: Any, client: Any,
                                                                lock_spy: list[tuple[bool, bool]]) -> None:
    login(client, "office")
    resp = upload(client, workbook(GOOD_ROWS))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert lock_spy == [(False, True)]
    assert counts(rt)[:2] == (1, 3)


@pytest.mark.usefixtures("office_org")
def test_the_cli_reads_the_workbook_before_its_transaction(rt: Any, org: Any, tmp_path: Any,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         lock_spy: list[tuple[bool, bool]]) -> None:
    from contextlib import contextmanager

    @contextmanager
    def test_runtime() -> Any:
        yield rt

    monkeypatch.setattr(exchange_commands, "runtime", test_runtime)
    path = tmp_path / "list.xlsx"
    path.write_bytes(workbook(GOOD_ROWS))
    args = ["--unit", "plant_a", "--year", "2025", "--number", "1", "--title", "2025年第一轮巡察",
            "--feedback-date", "2025-01-31"]
    res = CliRunner().invoke(main, ["rounds", "import", str(path), *args])
    assert res.exit_code == 0, res.output
    assert lock_spy == [(False, True)]


FORMULAS = ['=HYPERLINK("http://evil.example/","查看附件")', "+1+1", "-2+3", "@SUM(A1:A2)"]


def _text_workbook(rows: list[list[Any]]) -> bytes:
    """Like an office's file: cells beginning with "=" typed in as text (openpyxl would store a formula)."""
    wb = load_workbook(io.BytesIO(workbook(rows)))
    for row in wb["问题清单"].iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.usefixtures("office_org")
def test_exported_text_that_looks_like_a_formula_stays_text(rt: Any, org: Any) -> None:
    rows = [[f"1.{i}", text_, "5.3", "资金", text_, "plant_a_finance", None] for i, text_ in enumerate(FORMULAS, 1)]
    import_wb(rt, org, _text_workbook(rows), **{**ROUND, "number": 2})  # type: ignore[arg-type]
    with rt.reads() as s:
        data = ex.export_ledger(s, None)
    ws = load_workbook(io.BytesIO(data))["整改台账"]
    header = [c.value for c in ws[1]]
    cols = [header.index("方面") + 1, header.index("反馈问题描述") + 1]
    cells = [ws.cell(row=r, column=c) for r in range(2, ws.max_row + 1) for c in cols]
    assert sorted(c.value for c in cells) == sorted(FORMULAS * 2)
    for cell in cells:
        assert cell.data_type == "s" and cell.quotePrefix, (cell.coordinate, cell.value, cell.data_type)
