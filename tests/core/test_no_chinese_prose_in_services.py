"""Text a reader sees is a message id of the one catalogue, rendered in the reader's language at the edge:
no string literal in ``rectiflow/services/**`` holds Chinese characters, except the data listed below."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "rectiflow" / "services"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")

# Whole modules that are data, not text for a reader.
DATA_MODULES = {
    "demo/org.py": "the demo organisation's units and people (names are data)",
    "demo/round.py": "the demo round's content: problems, plans and reports as an office would write them",
}
# Module-level names (constants, functions) whose Chinese is part of a format, not a message.
FORMAT_NAMES = {
    "exchange/excel.py": {
        "COLUMNS": "the problem list's Chinese column headers and their aliases (the import format)",
        "OPTIONAL_COLUMNS": "the optional columns' Chinese headers (the import format)",
        "SHEET_PROBLEMS": "the template's sheet names are part of the import format",
        "SHEET_INSTRUCTIONS": "the template's sheet names are part of the import format",
        "SHEET_LISTS": "the template's sheet names are part of the import format",
        "FILE_KEY": "error keys name the spreadsheet's places as the Chinese sheet does",
        "HEADER_KEY": "error keys name the spreadsheet's places as the Chinese sheet does",
        "row_key": "error keys name the spreadsheet's places as the Chinese sheet does (第N行)",
        "ROUND_FIELD_LABELS": "error keys of the round's fields, in the import's vocabulary",
        "_HEADER_MARKERS": "headers marked （必填） in an office's sheet are still recognised",
        "_CHINESE_DATE": "dates written 2025年4月30日 in a sheet are read",
        "_CN_DIGITS": "Chinese outline numbers (一、(二)) in a sheet are read",
        "_TOKEN": "Chinese outline numbers in a sheet are read",
        "_SEPARATORS": "Chinese punctuation between the parts of an outline number is read",
        "_cn_int": "Chinese numerals (十一) in a sheet are read",
    },
    "exchange/word.py": {
        "_FONTS": "the fonts of a Chinese official document (宋体, 黑体) are font names, not text",
    },
}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _names(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
        stmt, (ast.AnnAssign, ast.AugAssign)) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def chinese_literals(source: str, allowed: set[str] | frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, text) of every string literal with Chinese characters, docstrings and the module-level
    statements that define an ``allowed`` name excepted."""
    tree = ast.parse(source)  # a Module: its body is the module-level statements
    docs = _docstrings(tree)
    found = []
    for stmt in tree.body:
        if _names(stmt) & allowed:
            continue
        for node in ast.walk(stmt):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                    and CJK.search(node.value)):
                found.append((node.lineno, node.value[:40]))
    return sorted(found)


def test_no_chinese_literal_in_the_services_outside_the_data_allowlist() -> None:
    files = sorted(SERVICES.rglob("*.py"))
    assert len(files) > 30 and (SERVICES / "notifications.py") in files
    found = []
    for f in files:
        rel = f.relative_to(SERVICES).as_posix()
        if rel in DATA_MODULES:
            continue
        allowed = set(FORMAT_NAMES.get(rel, {}))
        found += [f"rectiflow/services/{rel}:{line}: {text!r}" for line, text in
                  chinese_literals(f.read_text(encoding="utf-8"), allowed)]
    assert not found, "Chinese text in the services (make it a message id, N_()):\n" + "\n".join(found)


def test_the_allowlist_names_only_what_exists() -> None:
    """An allowlisted module or name that no longer exists is dropped from the list, not left to excuse a
    later one of the same name."""
    for rel in DATA_MODULES:
        assert (SERVICES / rel).is_file(), rel
    for rel, names in FORMAT_NAMES.items():
        tree = ast.parse((SERVICES / rel).read_text(encoding="utf-8"))
        defined = set().union(*(_names(s) for s in tree.body))
        assert set(names) <= defined, (rel, set(names) - defined)
    # and each allowlisted name really holds Chinese: otherwise it needs no excuse
    for rel, names in FORMAT_NAMES.items():
        source = (SERVICES / rel).read_text(encoding="utf-8")
        for name in names:
            assert chinese_literals(source, set(names) - {name}), (rel, name)


def test_the_check_finds_chinese_in_code_but_not_in_docstrings_or_allowed_names() -> None:
    source = ('"""模块说明"""\n'
              'LABELS = {"a": "绿色预警"}\n'
              'HEADERS = ("问题编号",)\n'
              'def f():\n    """说明"""\n    return f"第{1}行"\n')
    assert chinese_literals(source) == [(2, "绿色预警"), (3, "问题编号"), (6, "第"), (6, "行")]
    assert chinese_literals(source, {"HEADERS", "f"}) == [(2, "绿色预警")]
    assert chinese_literals('x = "　indent"\n') == [(1, "　indent")]  # the ideographic space counts too
