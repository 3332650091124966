"""The ledger file and the ledger page name a colour and a status with the same words: both come from
the one vocabulary (``rectiflow.domain.vocab``), no longer from a table of their own."""

from __future__ import annotations

import io

from exchange_support import GOOD_ROWS, import_wb, login, workbook
from openpyxl import load_workbook

from rectiflow.domain.vocab import ProblemStatus, WarningColour


def test_excel_export_and_the_web_ledger_show_the_same_labels(rt, office_org, app):
    import_wb(rt, office_org, workbook(GOOD_ROWS))
    client = app.test_client()
    login(client, "office")
    book = load_workbook(io.BytesIO(client.get("/ledger/export.xlsx").data))
    sheet = list(book["整改台账"].iter_rows(values_only=True))
    col = {name: i for i, name in enumerate(sheet[0])}
    first = sheet[1]
    no_warning = WarningColour.NONE.label("zh_CN")
    not_started = ProblemStatus.NOT_STARTED.label("zh_CN")
    assert (first[col["预警"]], first[col["整改状态"]]) == (no_warning, not_started) == ("无预警", "未启动")
    page = client.get("/ledger/").get_data(as_text=True)
    assert no_warning in page and not_started in page
    assert "正常" not in page  # the old second name of "no warning"
