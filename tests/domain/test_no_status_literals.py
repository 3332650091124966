"""No status code as a bare string in the services, the read side or the workers: they compare and set
members of the one vocabulary (``rectiflow.domain.vocab``). A literal compares silently false once a code
is renamed; a member fails at import. This test reads the source (AST) and names every literal that
crept back, so it fails on the line that needs the member.

Flagged:

* a comparison (``==``, ``!=``, ``in``, ``not in``, SQLAlchemy's ``.in_()``/``.not_in()``) with a string
  that is a code of a ``*Status`` vocabulary, also inside a tuple, list or set on either side;
* a comparison, keyword argument or assignment whose other side names a status or kind (``x.status``,
  ``status=``, ``row["kind"]``, ``job_status``) with a string that is a code of any vocabulary;
* a string that mentions ``status`` and quotes a status code (SQL such as ``status = 'ready'`` or an
  ``INSERT ... (status) VALUES ('ready')``): bind the member as a parameter instead.

There is no allowlist: nothing in these folders needs a bare code. Strings that only look like codes
pass because their names say what they are (an operation's ``mode == "job"``, a report ``action``, an
extension ``decision``); a genuine exception would go in a named, explained allowlist here.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from rectiflow.domain import vocab

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("rectiflow/services", "rectiflow/read", "workers")

STATUS_CODES = frozenset(c for v in vocab.VOCABULARIES if v.__name__.endswith("Status") for c in v.codes())
ANY_CODES = frozenset(c for v in vocab.VOCABULARIES for c in v.codes())
NAMED = re.compile(r"(^|_)(status|kind)$")
MENTIONS_STATUS = re.compile(r"\bstatus\b", re.IGNORECASE)
QUOTED = re.compile(r"'([a-z_]+)'")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    code: str
    form: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.form} {self.code!r}"


def _names_status_or_kind(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return bool(NAMED.search(node.attr))
    if isinstance(node, ast.Name):
        return bool(NAMED.search(node.id))
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return isinstance(node.slice.value, str) and bool(NAMED.search(node.slice.value))
    return False


def _strings(node: ast.expr) -> list[ast.Constant]:
    """The string constants of an operand: itself, or the elements of a literal tuple/list/set."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [e for e in items if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def _targets_and_values(node: ast.Assign) -> list[tuple[ast.expr, ast.expr]]:
    """``a.status = "x"`` and ``a.status, a.at = "x", now`` as (target, value) pairs."""
    pairs: list[tuple[ast.expr, ast.expr]] = []
    for target in node.targets:
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) \
                and len(target.elts) == len(node.value.elts):
            pairs += zip(target.elts, node.value.elts, strict=True)
        else:
            pairs.append((target, node.value))
    return pairs


def findings_in(source: str, path: str = "<source>") -> list[Finding]:
    out: list[Finding] = []

    def flag(const: ast.Constant, form: str) -> None:
        out.append(Finding(path, const.lineno, const.value, form))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops):
            operands = [node.left, *node.comparators]
            named = any(_names_status_or_kind(o) for o in operands)
            for operand in operands:
                for const in _strings(operand):
                    if const.value in STATUS_CODES or (named and const.value in ANY_CODES):
                        flag(const, "comparison with")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("in_", "not_in", "notin_"):
            for arg in node.args:
                for const in _strings(arg):
                    if const.value in STATUS_CODES:
                        flag(const, f".{node.func.attr}()")
        elif isinstance(node, ast.keyword) and node.arg and NAMED.search(node.arg):
            for const in ast.walk(node.value):  # also inside an expression: status=case((due, "fired"), ...)
                if isinstance(const, ast.Constant) and isinstance(const.value, str) and const.value in ANY_CODES:
                    flag(const, f"{node.arg}=")
        elif isinstance(node, ast.Assign):
            for target, value in _targets_and_values(node):
                if _names_status_or_kind(target) and isinstance(value, ast.Constant) and value.value in ANY_CODES:
                    flag(value, "assignment of")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MENTIONS_STATUS.search(node.value):
            for code in QUOTED.findall(node.value):
                if code in STATUS_CODES:
                    out.append(Finding(path, node.lineno, code, "SQL text with"))
    return out


def _scan() -> list[Finding]:
    found: list[Finding] = []
    for folder in SCANNED:
        for file in sorted((ROOT / folder).rglob("*.py")):
            rel = file.relative_to(ROOT).as_posix()
            found += findings_in(file.read_text(encoding="utf-8"), rel)
    return found


def test_no_status_literal_in_services_read_or_workers():
    found = _scan()
    assert not found, "use the vocabulary's member instead of:\n" + "\n".join(map(str, found))


BAD = '''
if task.status != "ready": pass
if inst.status in ("running", "error"): pass
q = select(Job).where(Job.status == "queued")
x = "dead" == delivery.status
inst.status = "error"
job.status, job.finished_at = "failed", now
Job(status="queued")
update(Job).values(job_status="running")
create_notices(kind="report_due")
if p["kind"] == "rectification_report": pass
if colour_kind == "red": pass
raw.execute("UPDATE user_tasks SET status = 'cancelled' WHERE id = ? AND status = 'ready'")
update(Timer).values(status=case((due, "fired"), else_="cancelled"))
raw.execute("INSERT INTO timers (id, status, due_at) VALUES (?, 'waiting', ?)")
q = select(Job.id).where(Job.status.in_(("queued", "running")))
'''

GOOD = '''
if task.status != TaskStatus.READY: pass
if inst.status in (InstanceStatus.RUNNING, InstanceStatus.ERROR): pass
inst.status = InstanceStatus.ERROR
Job(status=JobStatus.QUEUED, kind=op_name)
if op.mode == "job": pass
if action == "submit": pass
if p["decision"] == "reject": pass
raw.execute("UPDATE user_tasks SET status = ? WHERE id = ?")
update(Timer).values(status=case((due, TimerStatus.FIRED), else_=TimerStatus.CANCELLED))
title = "closed"
q = select(Job.id).where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)), Job.kind.in_(["notify.deliver"]))
'''


@pytest.mark.parametrize("line", BAD.strip().splitlines())
def test_the_check_flags_each_form_of_literal(line):
    assert findings_in(line), f"not flagged: {line}"


def test_the_check_counts_every_literal_and_names_its_line():
    found = findings_in(BAD)
    assert len(found) == 19
    assert str(found[0]).startswith("<source>:")
    assert {(f.line, f.code) for f in found} >= {(2, "ready"), (3, "running"), (3, "error"), (13, "cancelled"),
                                                 (13, "ready"), (7, "failed")}


def test_the_check_passes_members_and_strings_that_are_not_status_codes():
    assert findings_in(GOOD) == []
