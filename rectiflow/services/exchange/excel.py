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

from rectiflow.db.domain import Round
from rectiflow.db.org import Unit
from rectiflow.domain import schedules
from rectiflow.domain.vocab import ProblemStatus, WarningColour
from rectiflow.errors import InvalidInput
from rectiflow.i18n import N_, Message, default_locale, normalise, translate
from rectiflow.read import ledger as read_ledger
from rectiflow.read.ledger import LedgerFilter
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.chain import rounds as chain

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
# Every row counts here, blank or not: a 500 KB sheet declaring A1:XFD100001 with one far-right cell
# per row cost 47 s of CPU when rows were padded to 16 384 columns and only non-blank rows counted.
MAX_SHEET_ROWS = 5000
MAX_COLUMNS = 64  # the header is looked for in these columns; cells beyond the last known column are not read
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # a 5 MB zip that inflates beyond this is refused (zip bomb)
TEMPLATE_ROWS = 500  # rows pre-formatted with the dropdowns in the template
SHEET_PROBLEMS = "问题清单"
SHEET_INSTRUCTIONS = "填写说明"
SHEET_LISTS = "代码表"
# Error keys name the spreadsheet's places as the office's (Chinese) sheet does: a row and its header.
FILE_KEY = "文件"
HEADER_KEY = "表头"

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


_HEADER_MARKERS = re.compile(r"\((必填|选填|可选|required|optional)\)")  # "问题类别（必填）" is 问题类别
_CHINESE_DATE = re.compile(r"^(\d{4})[-年](\d{1,2})[-月](\d{1,2})日?$")  # 2025-4-30 or 2025年4月30日


def _norm_header(value: Any) -> str:
    s = unicodedata.normalize("NFKC", str(value or "")).lower()
    s = _HEADER_MARKERS.sub("", s)
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


# The instructions sheet, (column, explanation), rendered in the reader's language. The columns are named by
# their Chinese headers: the headers are the import format, whoever downloads the template.
def _instructions(loc: str) -> list[tuple[str, str]]:
    def _(msgid: str, **params: Any) -> str:
        return translate(loc, msgid, params)

    def required(field: str) -> str:
        return _(N_("%(column)s (required)"), column=LABELS[field])

    return [
        (_(N_("Inspection feedback problem list: how to fill it in")), ""),
        ("", ""),
        (_(N_("Column")), _(N_("Explanation"))),
        (required("number"), _(N_("A hierarchical number such as 1, 1.1 or 1.1.1 (Chinese outline numbering also "
                                   "works); no number twice in one list."))),
        (LABELS["aspect"], _(N_("The aspect of the feedback the problem belongs to."))),
        (required("category"), _(N_("Choose from the dropdown; the code alone (such as 2.1) also works."))),
        (LABELS["domain_tag"], _(N_("Optional; choose from the dropdown: %(tags)s."),
                                 tags=tuple(schedules.BUSINESS_DOMAIN_TAGS))),
        (required("feedback_text"), _(N_("The problem as the inspection team wrote it; it cannot be changed "
                                         "once issued."))),
        (required("department_code"), _(N_("The code of the responsible department inside the inspected unit "
                                           "(its unit code in the system)."))),
        (LABELS["functional_department_code"], _(N_("Optional; the code of the functional department above "
                                                     "that oversees the matter."))),
        ("", ""),
        (_(N_("Limits")), _(N_("At most %(mb)s MB and %(rows)s problems; only .xlsx files are accepted."),
                            mb=MAX_BYTES // (1024 * 1024), rows=MAX_ROWS)),
        (_(N_("Checks")), _(N_("If any row is wrong nothing is imported, and every error is listed by row and "
                               "column."))),
        ("", ""),
        (_(N_("Problem category code")), _(N_("Name"))),
    ]


def problem_list_template(taxonomy_preset: str = "four_implementations", locale: str | None = None) -> bytes:
    """An empty problem list: Chinese headers (the import format), dropdowns from the taxonomy, an
    instructions sheet in ``locale`` (the reader's; the default locale when None)."""
    loc = normalise(locale) if locale else default_locale()
    if taxonomy_preset not in schedules.TAXONOMY_PRESETS:
        raise InvalidInput(N_("Unknown problem taxonomy."), errors={
            "taxonomy_preset": [Message(N_("Unknown problem taxonomy: %(name)s"), name=taxonomy_preset)]})
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
    lists["A1"], lists["B1"] = translate(loc, N_("Problem category")), translate(loc, N_("Business domain"))
    for r, value in enumerate(categories, start=2):
        put_cell(lists, r, 1, value)
    for r, tag in enumerate(schedules.BUSINESS_DOMAIN_TAGS, start=2):
        put_cell(lists, r, 2, tag)
    lists.column_dimensions["A"].width = 48
    lists.column_dimensions["B"].width = 16
    lists.sheet_state = "hidden"

    last = TEMPLATE_ROWS + 1
    cat_dv = DataValidation(
        type="list",
        formula1=f"'{SHEET_LISTS}'!$A$2:$A${len(categories) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=translate(loc, N_("Problem category")),
        error=translate(loc, N_("Choose a problem category from the dropdown.")),
        promptTitle=translate(loc, N_("Problem category")),
        prompt=translate(loc, N_("Choose from the dropdown (second-level category).")),
    )
    tag_dv = DataValidation(
        type="list",
        formula1=f"'{SHEET_LISTS}'!$B$2:$B${len(schedules.BUSINESS_DOMAIN_TAGS) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=translate(loc, N_("Business domain")),
        error=translate(loc, N_("Choose a business domain from the dropdown.")),
    )
    ws.add_data_validation(cat_dv)
    ws.add_data_validation(tag_dv)
    cat_dv.add(f"C2:C{last}")
    tag_dv.add(f"D2:D{last}")

    info = wb.create_sheet(SHEET_INSTRUCTIONS)
    lines = _instructions(loc)
    children: set[int] = set()  # rows of second-level categories, indented under their parent
    for top in taxonomy:
        lines.append((top["code"], top["name"]))
        for c in top.get("children", ()):
            lines.append((c["code"], c["name"]))
            children.add(len(lines))
    for r, (a, b) in enumerate(lines, start=1):
        put_cell(info, r, 1, a)
        put_cell(info, r, 2, b).alignment = Alignment(indent=1 if r in children else 0)
    info["A1"].font = Font(bold=True, size=14)
    for cell in ("A3", "B3", f"A{len(lines) - len(_category_options(taxonomy))}"):
        info[cell].font = Font(bold=True)
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 90
    wb.move_sheet(info, offset=-1)  # instructions before the hidden code lists
    return _save(wb)


# A cell beginning with one of these is a formula to Excel (openpyxl even stores "=..." as one): an
# exported problem text "=HYPERLINK(...)" would run when the office opens the ledger.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def put_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write ``value`` into a cell of an export; text that Excel would read as a formula stays text
    (a string cell with the quote prefix, as when a user types ' before it)."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


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


def row_key(row: int) -> str:
    return f"第{row}行"


def _key(row: int, field: str) -> str:
    return f"{row_key(row)} {LABELS.get(field, field)}"


def _bad_file(msgid: str, **params: Any) -> InvalidInput:
    return InvalidInput(msgid, errors={FILE_KEY: [Message(msgid, **params)]}, **params)


def _open_workbook(data: bytes) -> Any:
    if not isinstance(data, bytes | bytearray) or not data:
        raise _bad_file(N_("The file is empty: choose a problem list in .xlsx format."))
    if len(data) > MAX_BYTES:
        raise _bad_file(N_("The file is too large (%(size).1f MB): a problem list may have at most %(max)d MB."),
                        size=len(data) / 1024 / 1024, max=MAX_BYTES // (1024 * 1024))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise _bad_file(N_("This is an old Excel (.xls) file: save it as .xlsx in Excel and upload it again."))
    if data[:4] != b"PK\x03\x04":
        raise _bad_file(N_("The file is not an Excel workbook (.xlsx): fill in the downloaded template and upload it."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            inflated = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise _bad_file(N_("The file is damaged or not an Excel workbook (.xlsx).")) from None
    if "xl/workbook.xml" not in names:
        raise _bad_file(N_("The file is not an Excel workbook (.xlsx): it may be a Word document or another archive."))
    if inflated > MAX_UNCOMPRESSED:
        raise _bad_file(N_("The file is too large once unpacked and cannot be read."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a variety of errors on malformed packages
        raise _bad_file(
            N_("The Excel workbook cannot be read; it may be damaged: save it as .xlsx and try again.")) from None


def _sheet_rows(ws: Any, min_row: int, max_col: int, max_row: int | None = None) -> Any:
    """(row number, values) in sheet order, at most ``max_col`` cells each; a cell openpyxl cannot
    convert (text in a cell without a type, a formula's text result, a shared string that does not
    exist) is a 422 naming its row, not a 500."""
    rows = ws.iter_rows(min_row=min_row, max_row=max_row, max_col=max_col, values_only=True)
    r = min_row
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except (ValueError, TypeError, IndexError, KeyError, OverflowError, AttributeError):
            raise _bad_file(N_("Row %(row)d cannot be read: a cell holds a value its type does not allow (a formula "
                               "without a result type?). Save the file in Excel as .xlsx and upload it again."),
                            row=r) from None
        yield r, values
        r += 1


def _find_header(ws: Any) -> tuple[int, dict[str, int]] | None:
    """(header row number, {field: column index}) within the first 10 rows, or None."""
    for r, values in _sheet_rows(ws, 1, MAX_COLUMNS, max_row=10):
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
                N_("No problem list found."),
                errors={HEADER_KEY: [Message(N_("No header row found: the first row should be %(columns)s"),
                                       columns=tuple(c[1] for c in COLUMNS))]},
            )
        header_row, cols = found
        missing = [f for f in REQUIRED if f not in cols]
        if missing:
            raise InvalidInput(
                N_("Required columns are missing."),
                errors={f"{HEADER_KEY} {LABELS[f]}": [Message(N_("The required column “%(column)s” is missing."),
                                                      column=LABELS[f])] for f in missing},
            )
        errors: dict[str, list[Any]] = {}
        rows: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for r, values in _sheet_rows(ws, header_row + 1, max(cols.values()) + 1):
            if r > MAX_SHEET_ROWS:  # counted before the blank-row skip: blank rows cost reading too
                raise _bad_file(N_("The sheet has more than %(max)d rows (blank rows included): delete the rows "
                                   "below the list or split it and import it in parts."), max=MAX_SHEET_ROWS)
            cells = {f: (values[c] if c < len(values) else None) for f, c in cols.items()}
            if all(_cell_text(v) == "" for v in cells.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise _bad_file(N_("The problem list has more than %(max)d rows: split it and import it in parts."),
                                    max=MAX_ROWS)
            for f in REQUIRED:
                if _cell_text(cells.get(f)) == "":
                    errors.setdefault(_key(r, f), []).append(Message(N_("Required.")))
            raw_number = cells.get("number")
            number = ""
            if _cell_text(raw_number):
                number = normalise_number(raw_number) or ""
                if not number:
                    errors.setdefault(_key(r, "number"), []).append(Message(
                        N_("Cannot read the number “%(value)s”: write it like 1.1.1."), value=_cell_text(raw_number)))
                elif number in seen:
                    errors.setdefault(_key(r, "number"), []).append(Message(
                        N_("Number %(number)s appears twice (the same as row %(row)s)."), number=number,
                        row=seen[number]))
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
                    m = _CHINESE_DATE.match(text)
                    if m:
                        item["deadline"] = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
                    else:
                        errors.setdefault(_key(r, "deadline"), []).append(
                            Message(N_("Cannot read the date “%(value)s”."), value=_cell_text(dl)))
            rows.append(item)
        if not rows and not errors:
            raise InvalidInput(N_("The problem list is empty."), errors={
                SHEET_PROBLEMS: [Message(N_("The problem list is empty: there are no problems below the header."))]})
        if errors:
            raise InvalidInput(
                N_("The problem list has %(count)d errors; nothing was imported."), errors=errors,
                count=sum(len(v) for v in errors.values()),
            )
        return rows
    finally:
        wb.close()


def map_round_errors(errors: dict[str, list[Any]], rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """``create_round``'s ``problems[3].category`` → ``第5行 问题类别``; round fields → Chinese labels."""
    out: dict[str, list[Any]] = {}
    for path, msgs in errors.items():
        m = re.match(r"^problems\[(\d+)\](?:\.(\w+))?$", path)
        if m and int(m.group(1)) < len(rows):
            row = rows[int(m.group(1))]["row"]
            key = _key(row, m.group(2)) if m.group(2) else row_key(row)
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
    """Read the workbook and open the round (``create_round``); errors name spreadsheet rows.

    Reading a workbook takes CPU: callers holding a write transaction should read it first with
    ``read_problem_list`` and then call ``open_round`` (the web upload and the CLI do)."""
    rows = read_problem_list(data, taxonomy_preset)
    return open_round(session, rt, actor=actor, rows=rows, taxonomy_preset=taxonomy_preset, **round_fields)


def open_round(
    session: Session,
    rt: Any,
    *,
    actor: Any,
    rows: list[dict[str, Any]],
    taxonomy_preset: str = "four_implementations",
    **round_fields: Any,
) -> Round:
    """The writing half of an import: the rows ``read_problem_list`` returned become a round."""
    rows = [dict(r) for r in rows]
    _resolve_units(session, rows)
    problems = [{k: v for k, v in r.items() if k != "row"} for r in rows]
    try:
        return chain.create_round(
            session, rt, actor=actor, taxonomy_preset=taxonomy_preset, problems=problems, **round_fields
        )
    except InvalidInput as exc:
        mapped = map_round_errors(exc.errors, rows)
        raise InvalidInput(
            N_("The problem list has %(count)d errors; nothing was imported."), errors=mapped,
            count=sum(len(v) for v in mapped.values()),
        ) from exc


# ---------------------------------------------------------------------------- ledger export

# (row key, column title as a message id, width). The export is read by whoever downloads it: titles, labels
# and the summary come out in their language (the problem texts are the round's own data).
LEDGER_COLUMNS: list[tuple[str, str, int]] = [
    ("round_title", N_("Inspection round"), 24),
    ("number", N_("Problem number"), 10),
    ("aspect", N_("Aspect"), 24),
    ("category_label", N_("Problem category"), 30),
    ("domain_tag", N_("Business domain"), 12),
    ("feedback_text", N_("Feedback (problem description)"), 50),
    ("department", N_("Responsible department"), 18),
    ("department_code", N_("Responsible department code"), 16),
    ("status_label", N_("Rectification status"), 14),
    ("colour_label", N_("Warning"), 10),
    ("deadline", N_("Rectification deadline"), 12),
    ("supervised_label", N_("Listed supervision"), 10),
    ("yellow_count", N_("Yellow warnings"), 12),
    ("red_count", N_("Red warnings"), 12),
    ("returned_count", N_("Times returned"), 10),
    ("closed_on", N_("Closed on"), 12),
]
SHEET_LEDGER = N_("Rectification ledger")
SHEET_SUMMARY = N_("Figures")


def _category_names(taxonomy: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for top in taxonomy or []:
        out[top["code"]] = top["name"]
        for c in top.get("children", ()):
            out[c["code"]] = c["name"]
    return out


def export_ledger(session: Session, actor: Actor | None, f: LedgerFilter | None = None,
                  locale: str | None = None) -> bytes:
    """综合查询 as .xlsx: every problem of the ledger filter ``f`` the actor may see (the ledger page's rows,
    unpaged: ``rectiflow.read.ledger``; actor None is the command line: every unit), plus a summary sheet,
    in ``locale`` (the reader's; the command line's default locale when None)."""
    loc = normalise(locale) if locale else default_locale()

    def _(msgid: str) -> str:
        return translate(loc, msgid)

    rows = read_ledger.export_rows(session, actor, f or LedgerFilter())
    sup_ids = {r["id"] for r in rows if r["supervised"]}
    cat_names: dict[int, dict[str, str]] = {}
    for r in rows:
        if r["round_id"] not in cat_names:
            rnd = session.get(Round, r["round_id"])
            cat_names[r["round_id"]] = _category_names(rnd.taxonomy if rnd else [])
        name = cat_names[r["round_id"]].get(r["category"], "")
        r["category_label"] = f"{r['category']} {name}".strip()
        r["status_label"] = ProblemStatus.label_of(r["status"], loc)
        r["colour_label"] = WarningColour.label_of(r["colour"], loc)
        r["supervised_label"] = _(N_("Yes")) if r["id"] in sup_ids else ""
        r["closed_on"] = (r["closed_at"] or "")[:10]

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _(SHEET_LEDGER)
    head_font, head_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="B22222")
    for c, (_field, title, width) in enumerate(LEDGER_COLUMNS, start=1):
        cell = ws.cell(row=1, column=c, value=_(title))
        cell.font, cell.fill = head_font, head_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(c)].width = width
    for r_i, row in enumerate(rows, start=2):
        for c, (key, _title, _w) in enumerate(LEDGER_COLUMNS, start=1):
            value = row.get(key)
            cell = put_cell(ws, r_i, c, "" if value is None else value)
            if key in ("number", "department_code"):
                cell.number_format = "@"
            if key == "feedback_text":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(LEDGER_COLUMNS))}{len(rows) + 1}"

    summary = wb.create_sheet(_(SHEET_SUMMARY))
    summary["A1"], summary["B1"] = _(N_("Rectification status")), _(N_("Problems"))
    by_status: dict[str, int] = {}
    by_colour: dict[str, int] = {}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        by_colour[row["colour"]] = by_colour.get(row["colour"], 0) + 1
    r_i = 2
    for code, label in ProblemStatus.labels(loc).items():
        summary.cell(row=r_i, column=1, value=label)
        summary.cell(row=r_i, column=2, value=by_status.get(code, 0))
        r_i += 1
    summary.cell(row=r_i, column=1, value=_(N_("Total"))).font = Font(bold=True)
    summary.cell(row=r_i, column=2, value=len(rows)).font = Font(bold=True)
    r_i += 2
    summary.cell(row=r_i, column=1, value=_(N_("Warning"))).font = Font(bold=True)
    for code, label in WarningColour.labels(loc).items():
        r_i += 1
        summary.cell(row=r_i, column=1, value=label)
        summary.cell(row=r_i, column=2, value=by_colour.get(code, 0))
    r_i += 2
    summary.cell(row=r_i, column=1, value=_(N_("Listed supervision")))
    summary.cell(row=r_i, column=2, value=sum(1 for row in rows if row["supervised_label"]))
    summary["A1"].font = summary["B1"].font = Font(bold=True)
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["B"].width = 10
    return _save(wb)
