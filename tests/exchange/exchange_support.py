"""Helpers for the exchange tests (a module of its own, not conftest: see testsupport)."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from rectiflow.db.domain import Problem, Round
from rectiflow.db.runtime import ProcessInstance

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

GOOD_ROWS = [
    [
        "一、1",
        "落实全面从严治党战略部署",
        "2.1 落实中央八项规定精神",
        "中央八项规定",
        "公务接待超标准",
        "plant_a_finance",
        "group_finance",
    ],
    ["1.2", "生产经营", "5.3", "资金", "资金审批不规范", "plant_a_finance", None],
    ["二、1、(1)", "落实新时代党的组织路线", "选人用人", "选人用人", "干部选拔程序不严", "plant_a_hr", ""],
]


def workbook(rows: list[list[Any]], preset: str = "four_implementations", header: list[Any] | None = None) -> bytes:
    """The real template, filled in the way an office would (rows appended under the header)."""
    from rectiflow.services.exchange.excel import problem_list_template

    wb = load_workbook(io.BytesIO(problem_list_template(preset)))
    ws = wb["问题清单"]
    if header is not None:
        for c in range(1, ws.max_column + 1):
            ws.cell(row=1, column=c).value = None
        for c, v in enumerate(header, start=1):
            ws.cell(row=1, column=c, value=v)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def counts(rt: Any) -> tuple[int, int, int]:
    with rt.reads() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) or 0 for m in (Round, Problem, ProcessInstance)
        )


ROUND = dict(
    unit_code="plant_a",
    year=2025,
    number=1,
    title="2025年第一轮巡察",
    team="第一巡察组",
    feedback_date="2025-01-31",
    feedback_text="反馈意见全文",
)


def import_wb(rt: Any, org: dict[str, Any], data: bytes, who: str = "office", **kw: Any) -> Any:
    from rectiflow.services.exchange.excel import import_round

    with rt.sessions.begin() as s:
        rnd = import_round(s, rt, actor=org["actors"][who], data=data, **{**ROUND, **kw})
        return rnd.id, rnd.instance_id


def csrf_token(client: Any, path: str = "/login") -> str:
    m = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def login(client: Any, username: str) -> None:
    resp = client.post("/login", data={"username": username, "password": "passw0rd!", "csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
