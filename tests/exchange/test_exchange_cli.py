"""rectiflow rounds template / rounds import / ledger export, through click's CliRunner."""

from __future__ import annotations

import io
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from exchange_support import GOOD_ROWS, counts, workbook
from openpyxl import load_workbook

from rectiflow_cli import exchange_commands
from rectiflow_cli.main import main


@pytest.fixture
def cli(rt, monkeypatch):
    @contextmanager
    def test_runtime():
        yield rt  # the test's runtime; disposed by its fixture

    monkeypatch.setattr(exchange_commands, "runtime", test_runtime)
    return CliRunner()


ARGS = [
    "--unit",
    "plant_a",
    "--year",
    "2025",
    "--number",
    "1",
    "--title",
    "2025年第一轮巡察",
    "--feedback-date",
    "2025-01-31",
]


def test_template_import_and_export(rt, office_org, cli, tmp_path):
    out = tmp_path / "template.xlsx"
    res = cli.invoke(main, ["rounds", "template", "--preset", "three_weaknesses", str(out)])
    assert res.exit_code == 0, res.output
    assert load_workbook(out)["问题清单"]["C1"].value == "问题类别"

    good = tmp_path / "list.xlsx"
    good.write_bytes(workbook(GOOD_ROWS))
    res = cli.invoke(main, ["rounds", "import", str(good), *ARGS, "--preset", "regulation"])
    assert res.exit_code == 0, res.output
    assert "opened with 3 problems" in res.output
    assert counts(rt)[:2] == (1, 3)

    ledger = tmp_path / "ledger.xlsx"
    res = cli.invoke(main, ["ledger", "export", str(ledger)])
    assert res.exit_code == 0, res.output
    rows = list(load_workbook(io.BytesIO(ledger.read_bytes()))["整改台账"].iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["1.1", "1.2", "2.1.1"]


def test_import_prints_row_errors_and_exits_1(rt, office_org, cli, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook([GOOD_ROWS[0], ["1.1", "", "", "", "重复", "plant_b_hr"]]))
    res = cli.invoke(main, ["rounds", "import", str(bad), *ARGS])
    assert res.exit_code == 1
    assert "第3行 问题编号: 编号 1.1 重复（与第2行相同）" in res.output
    assert "第3行 问题类别: 必填" in res.output
    not_xlsx = tmp_path / "notes.xlsx"
    not_xlsx.write_text("just text")
    res = cli.invoke(main, ["rounds", "import", str(not_xlsx), *ARGS])
    assert res.exit_code == 1 and "不是 Excel 工作簿" in res.output
    assert counts(rt) == (0, 0, 0)
