"""Excel exchange: the problem-list template, reading an uploaded problem list, the ledger export.

Offices exchange the problem list (问题清单) and the ledger (整改台账) as .xlsx. Reading is strict
about what it cannot interpret and tolerant about the rest: headers match in Chinese or English
with any whitespace or "*"/"（必填）" markers, hierarchical numbers such as ``一、1、(1)`` or
``1.1.1`` are normalised to ``1.1.1``, and every fault is reported with its spreadsheet row and
column (``{"第3行 问题类别": ["必填"]}``) so the office can fix the file and upload it again.
Nothing is created unless the whole list is valid (``create_round`` validates the rest).
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zipfile
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Problem, Round
from rectiflow.db.org import Unit
from rectiflow.domain import schedules
from rectiflow.errors import InvalidInput
from rectiflow.services.chain import ledger as chain_ledger
from rectiflow.services.chain import rounds as chain

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # a 5 MB zip that inflates beyond this is refused (zip bomb)
TEMPLATE_ROWS = 500  # rows pre-formatted with the dropdowns in the template
SHEET_PROBLEMS = "问题清单"
SHEET_INSTRUCTIONS = "填写说明"
SHEET_LISTS = "代码表"
FILE_KEY = "文件"

# (field, Chinese header, required, width, English aliases, other Chinese aliases)
COLUMNS: list[tuple[str, str, bool, int, tuple[str, ...], tuple[str, ...]]] = [
    ("number", "问题编号", True, 12, ("number", "no", "problem number", "problem no"), ("编号", "序号")),
    ("aspect", "方面", False, 28, ("aspect",), ("问题方面", "方面问题")),
    ("category", "问题类别", True, 36, ("category", "problem category"), ("类别", "问题分类", "分类")),
    ("domain_tag", "业务领域", False, 16, ("domain tag", "domain", "business domain"), ("领域", "业务领域标签")),
    (
        "feedback_text",
        "反馈问题描述",
        True,
        60,
        ("feedback text", "feedback", "description", "problem"),
        ("问题描述", "反馈问题", "具体问题", "问题"),
    ),
    (
        "department_code",
        "责任部门编码",
        True,
        18,
        ("department code", "department", "responsible department"),
        ("责任部门", "责任单位编码", "责任单位"),
    ),
    (
        "functional_department_code",
        "职能部门编码",
        False,
        18,
        ("functional department code", "functional department"),
        ("职能部门", "上级业务部门编码", "上级业务部门"),
    ),
]
# Read when present, not in the template.
OPTIONAL_COLUMNS: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("deadline", "整改时限", ("deadline",), ("完成时限", "整改期限")),
    ("root_cause", "原因剖析", ("root cause",), ("原因分析",)),
]
LABELS = {c[0]: c[1] for c in COLUMNS} | {c[0]: c[1] for c in OPTIONAL_COLUMNS}
ROUND_FIELD_LABELS = {
    "unit_code": "被巡察单位",
    "title": "巡察轮次名称",
    "feedback_date": "反馈日期",
    "schedule_preset": "报告模板",
    "taxonomy_preset": "问题分类",
    "thresholds": "预警阈值",
    "number": "轮次",
    "year": "年度",
    "problems": "问题清单",
}


def _norm_header(value: Any) -> str:
    s = unicodedata.normalize("NFKC", str(value or "")).lower()
    s = re.sub(r"\((必填|选填|可选|required|optional)\)", "", s)
    return re.sub(r"[\s*:_\-.]", "", s)


HEADER_ALIASES: dict[str, str] = {}
for _f, _zh, _req, _w, _en, _zh_more in COLUMNS:
    for _name in (_zh, _f, *_en, *_zh_more):
        HEADER_ALIASES.setdefault(_norm_header(_name), _f)
for _f, _zh, _en, _zh_more in OPTIONAL_COLUMNS:
    for _name in (_zh, _f, *_en, *_zh_more):
        HEADER_ALIASES.setdefault(_norm_header(_name), _f)
REQUIRED = [c[0] for c in COLUMNS if c[2]]


# ---------------------------------------------------------------------------- template


def _category_options(taxonomy: list[dict[str, Any]]) -> list[str]:
    out = []
    for top in taxonomy:
        out.append(f"{top['code']} {top['name']}")
        out.extend(f"{c['code']} {c['name']}" for c in top.get("children", ()))
    return out


def problem_list_template(taxonomy_preset: str = "four_implementations") -> bytes:
    """An empty problem list: Chinese headers, dropdowns from the taxonomy, an instructions sheet."""
    if taxonomy_preset not in schedules.TAXONOMY_PRESETS:
        raise InvalidInput("unknown taxonomy", errors={"taxonomy_preset": [f"未知的问题分类：{taxonomy_preset}"]})
    taxonomy = schedules.TAXONOMY_PRESETS[taxonomy_preset]
    categories = _category_options(taxonomy)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET_PROBLEMS
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="B22222")
    for i, (_field, zh, _required, width, _en, _more) in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i, value=zh)
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.row_dimensions[1].height = 22
    # Numbers and codes are text: "1.10" must not become the float 1.1.
    # Column-level formats, so no empty cells are created and rows can simply be appended.
    for i, c in enumerate(COLUMNS, start=1):
        dim = ws.column_dimensions[get_column_letter(i)]
        if c[0] == "feedback_text":
            dim.alignment = Alignment(wrap_text=True, vertical="top")
        else:
            dim.number_format = "@"

    lists = wb.create_sheet(SHEET_LISTS)
    lists["A1"], lists["B1"] = "问题类别", "业务领域"
    for r, value in enumerate(categories, start=2):
        lists.cell(row=r, column=1, value=value)
    for r, tag in enumerate(schedules.BUSINESS_DOMAIN_TAGS, start=2):
        lists.cell(row=r, column=2, value=tag)
    lists.column_dimensions["A"].width = 48
    lists.column_dimensions["B"].width = 16
    lists.sheet_state = "hidden"

    last = TEMPLATE_ROWS + 1
    cat_dv = DataValidation(
        type="list",
        formula1=f"'{SHEET_LISTS}'!$A$2:$A${len(categories) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="问题类别",
        error="请从下拉列表中选择问题类别",
        promptTitle="问题类别",
        prompt="从下拉列表选择（二级类别）",
    )
    tag_dv = DataValidation(
        type="list",
        formula1=f"'{SHEET_LISTS}'!$B$2:$B${len(schedules.BUSINESS_DOMAIN_TAGS) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="业务领域",
        error="请从下拉列表中选择业务领域",
    )
    ws.add_data_validation(cat_dv)
    ws.add_data_validation(tag_dv)
    cat_dv.add(f"C2:C{last}")
    tag_dv.add(f"D2:D{last}")

    info = wb.create_sheet(SHEET_INSTRUCTIONS)
    lines: list[tuple[str, str]] = [
        ("巡察反馈问题清单 填写说明", ""),
        ("", ""),
        ("列", "说明"),
        ("问题编号（必填）", "层级编号，如 1、1.1、1.1.1，也可写作 一、1、(1)；同一清单内不得重复。"),
        ("方面", "问题所属方面，如“落实全面从严治党战略部署”。"),
        ("问题类别（必填）", "从下拉列表选择；也可只填编码（如 2.1）。"),
        ("业务领域", "可选，从下拉列表选择：" + "、".join(schedules.BUSINESS_DOMAIN_TAGS) + "。"),
        ("反馈问题描述（必填）", "巡察组反馈的问题原文，下发后不可修改。"),
        ("责任部门编码（必填）", "被巡察单位内的责任部门编码（系统中的单位编码）。"),
        ("职能部门编码", "可选，对口的上级职能部门编码。"),
        ("", ""),
        ("限制", f"文件不超过 {MAX_BYTES // (1024 * 1024)} MB，问题不超过 {MAX_ROWS} 行；只接受 .xlsx 格式。"),
        ("校验", "任何一行有误则整个清单不导入，系统逐行列出错误（第几行、哪一列）。"),
        ("", ""),
        ("问题类别编码", "名称"),
    ]
    for top in taxonomy:
        lines.append((top["code"], top["name"]))
        lines.extend((c["code"], "　" + c["name"]) for c in top.get("children", ()))
    for r, (a, b) in enumerate(lines, start=1):
        info.cell(row=r, column=1, value=a)
        info.cell(row=r, column=2, value=b)
    info["A1"].font = Font(bold=True, size=14)
    for cell in ("A3", "B3", f"A{len(lines) - len(_category_options(taxonomy))}"):
        info[cell].font = Font(bold=True)
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 90
    wb.move_sheet(info, offset=-1)  # instructions before the hidden code lists
    return _save(wb)


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------- reading

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_TOKEN = re.compile(r"\d+|[零〇一二两三四五六七八九十]+")
_SEPARATORS = re.compile(r"[\s、.,，。．()\[\]【】〔〕第\-]")


def _cn_int(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if "十" in s:
        left, _, right = s.partition("十")
        if "十" in right or len(left) > 1 or len(right) > 1:
            return None
        tens = _CN_DIGITS.get(left, -100) if left else 1
        ones = _CN_DIGITS.get(right, -100) if right else 0
        value = tens * 10 + ones
        return value if value > 0 else None
    if len(s) == 1:
        return _CN_DIGITS.get(s)
    return None


def normalise_number(value: Any) -> str | None:
    """``一、1、(1)`` / ``1.1.1`` / ``（一）`` / ``①`` → ``"1.1.1"`` etc.; None when not a number."""
    if value is None or isinstance(value, bool | datetime | date):
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, float):
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
    tokens = _TOKEN.findall(text)
    if not tokens or _SEPARATORS.sub("", _TOKEN.sub("", text)):
        return None
    parts = [_cn_int(t) for t in tokens]
    if any(p is None or p <= 0 or p > 9999 for p in parts):
        return None
    return ".".join(str(p) for p in parts)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _category(value: Any, taxonomy: list[dict[str, Any]]) -> str:
    """Category cell → code: "2.1", "2.1 落实中央八项规定精神" or the name alone give "2.1";
    anything else is returned unchanged (``create_round`` reports it)."""
    text = repr(value) if isinstance(value, float) else unicodedata.normalize("NFKC", _cell_text(value))
    m = re.match(r"^(\d+(?:\.\d+)?)(?:\s|$)", text)
    if m:
        return m.group(1)
    names: dict[str, list[str]] = {}
    for top in taxonomy:
        names.setdefault(top["name"], []).append(top["code"])
        for c in top.get("children", ()):
            names.setdefault(c["name"], []).append(c["code"])
    found = names.get(text.strip(), [])
    return found[0] if len(found) == 1 else text


def _key(row: int, field: str) -> str:
    return f"第{row}行 {LABELS.get(field, field)}"


def _bad_file(message: str) -> InvalidInput:
    return InvalidInput(message, errors={FILE_KEY: [message]})


def _open_workbook(data: bytes) -> Any:
    if not isinstance(data, bytes | bytearray) or not data:
        raise _bad_file("文件为空，请选择 .xlsx 格式的问题清单")
    if len(data) > MAX_BYTES:
        raise _bad_file(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB），问题清单不得超过 {MAX_BYTES // (1024 * 1024)} MB"
        )
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _bad_file("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再上传")
    if data[:4] != b"PK\x03\x04":
        raise _bad_file("文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后上传")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            inflated = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise _bad_file("文件已损坏或不是 Excel 工作簿（.xlsx）") from None
    if "xl/workbook.xml" not in names:
        raise _bad_file("文件不是 Excel 工作簿（.xlsx）：可能是 Word 文档或其他压缩文件")
    if inflated > MAX_UNCOMPRESSED:
        raise _bad_file("文件解压后过大，无法读取")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a variety of errors on malformed packages
        raise _bad_file("无法读取该 Excel 工作簿，文件可能已损坏；请另存为 .xlsx 后重试") from None


def _find_header(ws: Any) -> tuple[int, dict[str, int]] | None:
    """(header row number, {field: column index}) within the first 10 rows, or None."""
    for r, values in enumerate(ws.iter_rows(min_row=1, max_row=10, values_only=True), start=1):
        cols: dict[str, int] = {}
        for c, v in enumerate(values):
            field = HEADER_ALIASES.get(_norm_header(v)) if v is not None else None
            if field and field not in cols:
                cols[field] = c
        if len(cols) >= 2:
            return r, cols
    return None


def read_problem_list(data: bytes, taxonomy_preset: str = "four_implementations") -> list[dict[str, Any]]:
    """Parse an uploaded problem list into ``create_round`` rows (each with ``row``: its sheet row).

    Raises InvalidInput with ``errors`` keyed "第N行 列名" (or "文件" / "表头 列名") and creates nothing.
    """
    taxonomy = schedules.TAXONOMY_PRESETS.get(taxonomy_preset, [])
    wb = _open_workbook(data)
    try:
        sheets = [wb[SHEET_PROBLEMS]] if SHEET_PROBLEMS in wb.sheetnames else []
        sheets += [wb[n] for n in wb.sheetnames if n not in (SHEET_PROBLEMS, SHEET_INSTRUCTIONS, SHEET_LISTS)]
        found = None
        for ws in sheets:
            found = _find_header(ws)
            if found:
                break
        if found is None:
            raise InvalidInput(
                "no problem list found",
                errors={"表头": ["未找到表头行：第一行应为 " + "、".join(c[1] for c in COLUMNS)]},
            )
        header_row, cols = found
        missing = [f for f in REQUIRED if f not in cols]
        if missing:
            raise InvalidInput(
                "required columns missing",
                errors={f"表头 {LABELS[f]}": [f"缺少必填列“{LABELS[f]}”"] for f in missing},
            )
        errors: dict[str, list[str]] = {}
        rows: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for r, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
            cells = {f: (values[c] if c < len(values) else None) for f, c in cols.items()}
            if all(_cell_text(v) == "" for v in cells.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise _bad_file(f"问题清单超过 {MAX_ROWS} 行，请拆分后分批导入")
            for f in REQUIRED:
                if _cell_text(cells.get(f)) == "":
                    errors.setdefault(_key(r, f), []).append("必填")
            raw_number = cells.get("number")
            number = ""
            if _cell_text(raw_number):
                number = normalise_number(raw_number) or ""
                if not number:
                    errors.setdefault(_key(r, "number"), []).append(
                        f"无法识别的编号“{_cell_text(raw_number)}”，应为 1.1.1 或 一、1、(1) 形式"
                    )
                elif number in seen:
                    errors.setdefault(_key(r, "number"), []).append(f"编号 {number} 重复（与第{seen[number]}行相同）")
                else:
                    seen[number] = r
            item: dict[str, Any] = {
                "row": r,
                "number": number,
                "aspect": _cell_text(cells.get("aspect")),
                "category": _category(cells.get("category"), taxonomy) if _cell_text(cells.get("category")) else "",
                "domain_tag": _cell_text(cells.get("domain_tag")),
                "feedback_text": _cell_text(cells.get("feedback_text")),
                "department_code": _cell_text(cells.get("department_code")),
                "functional_department_code": _cell_text(cells.get("functional_department_code")),
            }
            if "root_cause" in cols:
                item["root_cause"] = _cell_text(cells.get("root_cause"))
            if _cell_text(cells.get("deadline")):
                dl = cells["deadline"]
                if isinstance(dl, datetime | date):
                    item["deadline"] = _cell_text(dl)
                else:
                    text = unicodedata.normalize("NFKC", _cell_text(dl)).replace("/", "-").replace(".", "-")
                    m = re.match(r"^(\d{4})[-年](\d{1,2})[-月](\d{1,2})日?$", text)
                    if m:
                        item["deadline"] = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
                    else:
                        errors.setdefault(_key(r, "deadline"), []).append(f"无法识别的日期“{_cell_text(dl)}”")
            rows.append(item)
        if not rows and not errors:
            raise InvalidInput("empty problem list", errors={"问题清单": ["问题清单为空：表头下没有任何问题"]})
        if errors:
            raise InvalidInput(
                f"问题清单有 {sum(len(v) for v in errors.values())} 处错误，未导入任何内容", errors=errors
            )
        return rows
    finally:
        wb.close()


def map_round_errors(errors: dict[str, list[str]], rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``create_round``'s ``problems[3].category`` → ``第5行 问题类别``; round fields → Chinese labels."""
    out: dict[str, list[str]] = {}
    for path, msgs in errors.items():
        m = re.match(r"^problems\[(\d+)\](?:\.(\w+))?$", path)
        if m and int(m.group(1)) < len(rows):
            row = rows[int(m.group(1))]["row"]
            key = _key(row, m.group(2)) if m.group(2) else f"第{row}行"
        else:
            key = ROUND_FIELD_LABELS.get(path, path)
        out.setdefault(key, []).extend(msgs)
    return out


def _resolve_units(session: Session, rows: list[dict[str, Any]]) -> None:
    """A department written by its name instead of its code is accepted when the name is unique."""
    for row in rows:
        for field in ("department_code", "functional_department_code"):
            value = row.get(field)
            if not value or session.scalar(select(Unit.id).where(Unit.code == value)) is not None:
                continue
            matches = list(session.scalars(select(Unit.code).where(Unit.name == value)).all())
            if len(matches) == 1:
                row[field] = matches[0]


def import_round(
    session: Session,
    rt: Any,
    *,
    actor: Any,
    data: bytes,
    taxonomy_preset: str = "four_implementations",
    **round_fields: Any,
) -> Round:
    """Read the workbook and open the round (``create_round``); errors name spreadsheet rows."""
    rows = read_problem_list(data, taxonomy_preset)
    _resolve_units(session, rows)
    problems = [{k: v for k, v in r.items() if k != "row"} for r in rows]
    try:
        return chain.create_round(
            session, rt, actor=actor, taxonomy_preset=taxonomy_preset, problems=problems, **round_fields
        )
    except InvalidInput as exc:
        mapped = map_round_errors(exc.errors, rows)
        raise InvalidInput(
            f"问题清单有 {sum(len(v) for v in mapped.values())} 处错误，未导入任何内容", errors=mapped
        ) from exc


# ---------------------------------------------------------------------------- ledger export

LEDGER_COLUMNS: list[tuple[str, str, int]] = [
    ("round_title", "巡察轮次", 24),
    ("number", "问题编号", 10),
    ("aspect", "方面", 24),
    ("category_label", "问题类别", 30),
    ("domain_tag", "业务领域", 12),
    ("feedback_text", "反馈问题描述", 50),
    ("department", "责任部门", 18),
    ("department_code", "责任部门编码", 16),
    ("status_label", "整改状态", 14),
    ("colour_label", "预警", 10),
    ("deadline", "整改时限", 12),
    ("supervised_label", "挂牌督办", 10),
    ("yellow_count", "黄色预警次数", 12),
    ("red_count", "红色预警次数", 12),
    ("returned_count", "退回次数", 10),
    ("closed_on", "销号日期", 12),
]
COLOUR_LABELS = {"none": "正常", "green": "绿色预警", "yellow": "黄色预警", "red": "红色预警（超期）"}


def _category_names(taxonomy: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for top in taxonomy or []:
        out[top["code"]] = top["name"]
        for c in top.get("children", ()):
            out[c["code"]] = c["name"]
    return out


def export_ledger(session: Session, actor: Any, filters: dict[str, Any] | None = None) -> bytes:
    """综合查询 as .xlsx: the problems the actor may see (``chain_ledger.ledger_rows``), plus a summary sheet."""
    f = dict(filters or {})
    supervised = f.pop("supervised", None)
    rows = chain_ledger.ledger_rows(session, actor, f)
    ids = [r["id"] for r in rows]
    sup_ids: set[int] = set()
    for i in range(0, len(ids), 500):
        sup_ids |= set(
            session.scalars(select(Problem.id).where(Problem.id.in_(ids[i : i + 500]), Problem.supervised)).all()
        )
    if supervised in ("1", "0", True, False):
        want = supervised in ("1", True)
        rows = [r for r in rows if (r["id"] in sup_ids) == want]
    cat_names: dict[int, dict[str, str]] = {}
    for r in rows:
        if r["round_id"] not in cat_names:
            rnd = session.get(Round, r["round_id"])
            cat_names[r["round_id"]] = _category_names(rnd.taxonomy if rnd else [])
        name = cat_names[r["round_id"]].get(r["category"], "")
        r["category_label"] = f"{r['category']} {name}".strip()
        r["colour_label"] = COLOUR_LABELS.get(r["colour"], r["colour"])
        r["supervised_label"] = "是" if r["id"] in sup_ids else ""
        r["closed_on"] = (r["closed_at"] or "")[:10]

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "整改台账"
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="B22222")
    for c, (_field, title, width) in enumerate(LEDGER_COLUMNS, start=1):
        cell = ws.cell(row=1, column=c, value=title)
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(c)].width = width
    for r_i, row in enumerate(rows, start=2):
        for c, (key, _title, _w) in enumerate(LEDGER_COLUMNS, start=1):
            value = row.get(key)
            cell = ws.cell(row=r_i, column=c, value="" if value is None else value)
            if key in ("number", "department_code"):
                cell.number_format = "@"
            if key == "feedback_text":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(LEDGER_COLUMNS))}{len(rows) + 1}"

    summary = wb.create_sheet("统计")
    summary["A1"], summary["B1"] = "整改状态", "问题数"
    by_status: dict[str, int] = {}
    by_colour: dict[str, int] = {}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        by_colour[row["colour"]] = by_colour.get(row["colour"], 0) + 1
    r_i = 2
    for code, label in chain.PROBLEM_STATUSES.items():
        summary.cell(row=r_i, column=1, value=label)
        summary.cell(row=r_i, column=2, value=by_status.get(code, 0))
        r_i += 1
    summary.cell(row=r_i, column=1, value="合计").font = Font(bold=True)
    summary.cell(row=r_i, column=2, value=len(rows)).font = Font(bold=True)
    r_i += 2
    summary.cell(row=r_i, column=1, value="预警").font = Font(bold=True)
    for code, label in COLOUR_LABELS.items():
        r_i += 1
        summary.cell(row=r_i, column=1, value=label)
        summary.cell(row=r_i, column=2, value=by_colour.get(code, 0))
    r_i += 2
    summary.cell(row=r_i, column=1, value="挂牌督办")
    summary.cell(row=r_i, column=2, value=sum(1 for row in rows if row["supervised_label"]))
    summary["A1"].font = summary["B1"].font = Font(bold=True)
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["B"].width = 10
    return _save(wb)
