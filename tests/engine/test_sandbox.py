"""Tests for rectiflow.engine.sandbox: the restricted evaluator for BPMN conditions/scripts."""
from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from RestrictedPython.Guards import safer_getattr_raise

from rectiflow.engine import sandbox
from rectiflow.engine.sandbox import SandboxError, check_expression, check_script, evaluate, execute

PWNED = Path("/tmp/pwned")


@pytest.fixture
def data() -> dict[str, Any]:
    return {"amount": 20, "category": "资金", "due": date(2024, 5, 31),
            "items": [1, 2, 3], "meta": {"n": 1}, "name": "  整改  "}


# ------------------------------------------------------------------ conditions
@pytest.mark.parametrize(("amount", "category", "expected"), [
    (20, "资金", True), (20, "资产", True), (5, "资金", False), (20, "人员", False)])
def test_condition_with_task_data(amount: int, category: str, expected: bool) -> None:
    cond = "amount > 10 and category in ('资金', '资产')"
    assert evaluate(cond, {"amount": amount, "category": category}) is expected


def test_condition_date_and_method_access(data: dict[str, Any]) -> None:
    assert evaluate("due.year == 2024 and due.month >= 5", data) is True
    assert evaluate("due < start", {"due": date(2024, 1, 1), "start": date(2024, 2, 1)}) is True
    assert evaluate("ts.hour", {"ts": datetime(2024, 1, 1, 13)}) == 13
    assert evaluate("due.strftime('%Y-%m')", data) == "2024-05"
    assert evaluate("name.strip()", data) == "整改"
    assert evaluate("meta.get('n', 0) + meta.get('x', 5)", data) == 6
    assert evaluate("f'{amount:>4}|{category}'", data) == "  20|资金"
    assert evaluate("sorted(items, key=lambda v: -v)[0]", data) == 3
    assert evaluate("sum(x * 2 for x in items if x > 1)", data) == 10
    assert evaluate("total * Decimal2", {"total": Decimal("1.5"), "Decimal2": 2}) == Decimal("3.0")
    assert evaluate("len(items) + max(items) + abs(-1) + round(2.5)", data) == 9
    assert evaluate("[(i, v) for i, v in enumerate(items)][1]", data) == (1, 2)


def test_helpers_are_callable(data: dict[str, Any]) -> None:
    helpers = {"days_until": lambda d: (d - date(2024, 5, 1)).days}
    assert evaluate("days_until(due) > 20", data, helpers) is True
    execute("left = days_until(due)", data, helpers)
    assert data["left"] == 30
    assert "days_until" not in data


def test_data_key_shadowing_a_helper_is_an_error() -> None:
    with pytest.raises(SandboxError, match="days_until"):
        evaluate("days_until", {"days_until": 3}, {"days_until": lambda: 1})
    with pytest.raises(SandboxError, match="days_until"):
        execute("x = 1", {"days_until": 3}, {"days_until": lambda: 1})


def test_underscore_data_keys_cannot_replace_guards() -> None:
    # If `_getattr_` from data reached the namespace, the call below would fail.
    assert evaluate("s.upper()", {"s": "a", "_getattr_": None, "__builtins__": {}}) == "A"


# --------------------------------------------------------------------- scripts
def test_script_assigns_modifies_and_deletes(data: dict[str, Any]) -> None:
    execute(
        "amount += 5\n"
        "items.append(4)\n"
        "meta['n'] += 1\n"
        "meta['new'] = 'x'\n"
        "del name\n"
        "a, b = items[0], items[1]\n"
        "total = 0\n"
        "for i, v in enumerate(items):\n"
        "    if v > 1:\n"
        "        total += i * v\n"
        "label = f'{category}-{amount}'\n"
        "pair = (1, 2)\n",
        data)
    assert data["amount"] == 25
    assert data["items"] == [1, 2, 3, 4]
    assert data["meta"] == {"n": 2, "new": "x"}
    assert "name" not in data
    assert (data["a"], data["b"], data["total"]) == (1, 2, 1 * 2 + 2 * 3 + 3 * 4)
    assert data["label"] == "资金-25"
    assert data["pair"] == [1, 2]  # tuples are stored JSON-style
    assert data["due"] == date(2024, 5, 31)


def test_script_drops_unstorable_values(data: dict[str, Any]) -> None:
    execute("f = len\ng = lambda x: x\nr = range(3)\nmixed = [1, len]\nok = [1, {'a': None}]\n"
            "amount = len\n", data)
    for key in ("f", "g", "r", "mixed", "amount"):
        assert key not in data
    assert data["ok"] == [1, {"a": None}]
    assert not any(key.startswith("_") for key in data)


def test_script_shared_and_cyclic_values() -> None:
    payload: dict[str, Any] = {}
    execute("a = [1, (2, 3), {'k': [4]}]\nb = [a, a]\nloop = []\nloop.append(loop)\n", payload)
    assert payload["b"] == [[1, [2, 3], {"k": [4]}]] * 2
    assert "loop" not in payload  # a cycle cannot be stored as JSON


def test_script_print_is_harmless(data: dict[str, Any]) -> None:
    execute("print('hello', amount)\nx = 1", data)
    assert data["x"] == 1 and "printed" not in data and "_print" not in data


def test_failing_script_leaves_data_untouched(data: dict[str, Any]) -> None:
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in data.items()}
    with pytest.raises(SandboxError, match="line 3: ZeroDivisionError"):
        execute("amount = 1\nitems.append(9)\nboom = 1 / 0\n", data)
    assert data == before


def test_non_json_original_values_survive_when_untouched() -> None:
    marker = object()
    payload = {"obj": marker, "x": 1}
    execute("x = 2", payload)
    assert payload == {"obj": marker, "x": 2}


@pytest.mark.parametrize(("source", "message"), [
    ("missing > 1", "line 1: NameError: name 'missing' is not defined"),
    ("1 / 0", "ZeroDivisionError"),
    ("'a' + 1", "TypeError"),
    ("items[10]", "IndexError"),
    ("meta['nope']", "KeyError"),
    ("amount.nope", "AttributeError"),
])
def test_runtime_errors_are_wrapped(data: dict[str, Any], source: str, message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        evaluate(source, data)


def test_runtime_error_in_script_has_line_number(data: dict[str, Any]) -> None:
    with pytest.raises(SandboxError) as info:
        execute("x = 1\ny = 2\nz = nope + 1\n", data)
    assert info.value.problems == ["line 3: NameError: name 'nope' is not defined"]
    with pytest.raises(SandboxError, match="ValueError: bad amount"):
        execute("raise ValueError('bad amount')", data)


def test_error_messages_stay_small() -> None:
    with pytest.raises(SandboxError) as info:
        execute("x = [[0] * 999] * 999\nraise ValueError(x)", {})
    assert info.value.problems[0].startswith("line 2: ValueError: [[0, 0")
    assert len(str(info.value)) < 600


def test_try_except_in_script(data: dict[str, Any]) -> None:
    execute("try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    x = str(e)\n", data)
    assert data["x"] == "division by zero"


# ---------------------------------------------------------------------- escapes
EXPRESSION_ESCAPES = [
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__bases__[0].__subclasses__()]",
    "getattr((), '__class__')",
    "type(())",
    "'{0.__class__}'.format(1)",
    "'{0.__class__}'.format_map({'0': 1})",
    "'{x.__class__}'.format_map({'x': 1})",
    "str.format('{0.__class__}', 1)",
    "(x for x in []).gi_frame",
    "(x for x in []).gi_code",
    "open('/etc/passwd')",
    "exec('1')",
    "eval('1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "locals()",
    "vars()",
    "object()",
    "str.mro()",
    "'a' * 10**9",
    "[0] * 10**9",
    "10 ** 10 ** 10",
    "1 << 10**10",
    "list(range(10**9))",
    "str([[0] * 10**6] * 10**6)",
    "'x'.ljust(10**9)",
    "'%1000000000d' % 1",
    "f'{1:>1000000000}'",
    "f'{1:>{w}}'",
    "sum([[0] * 1000] * 1000, [])",
    "[0 for a in range(100000) for b in range(100000)]",
    "(lambda f: f(f, 40))(lambda f, n: n and f(f, n - 1) + f(f, n - 1) or 1)",
]

SCRIPT_ESCAPES = [
    "import os\nos.system('touch /tmp/pwned')",
    "from os import system\nsystem('touch /tmp/pwned')",
    "while True:\n    pass",
    "def f():\n    pass",
    "class A:\n    pass",
    "global x\nx = 1",
    "f = open\nf('/tmp/pwned', 'w')",          # not provided: refused at run time
    "e = __builtins__",
    "l = [1]\nfor x in l:\n    l.append(x)",   # self-feeding loop: step budget
    "l = [1]\nfor i in range(64):\n    l.extend(l)",
    "s = 'ab'\nfor i in range(64):\n    s = s + s",
    "s = 'a'\nfor i in range(64):\n    s = s.replace('a', 'aa')",
    "s = 'a'\ns *= 10**9",
    "x = [0] * 1000\ny = []\nfor i in range(100000):\n    y.append([x] * 1000)",
    "x = [0] * 1000\ny = []\nfor i in range(100000):\n    y.append(x)",  # 10**8 values once serialised
    "x = 2 ** (10 ** 400)",
    "s = 'ab'\nfor i in range(64):\n    s = f'{s}{s}'",
    "s = 'ab'\nfor i in range(64):\n    s = ','.join([s, s])",
    "l = [1]\nfor i in range(64):\n    l += reversed(l)",
    "l = [1]\nfor i in range(64):\n    l[len(l):] = reversed(l)",
    "s = '\\\\'\nfor i in range(64):\n    s = s.encode('unicode_escape').decode()",
    "s = 'a' * 1000\nt = s.translate({97: 'b' * 10000})",
    "t = 'x'.zfill(10**9)",
    "try:\n    pass\nexcept* ValueError:\n    pass",
]


@pytest.fixture
def no_pwned() -> Any:
    PWNED.unlink(missing_ok=True)
    yield
    assert not PWNED.exists()


@pytest.mark.parametrize("source", EXPRESSION_ESCAPES)
def test_expression_escapes_are_refused(source: str, no_pwned: None) -> None:
    payload = {"x": 1, "w": 10**9}
    started = time.monotonic()
    with pytest.raises(SandboxError) as info:
        evaluate(source, payload)
    assert info.value.problems
    assert time.monotonic() - started < 5  # fails fast, not after eating the machine
    assert payload == {"x": 1, "w": 10**9}


@pytest.mark.parametrize("source", SCRIPT_ESCAPES)
def test_script_escapes_are_refused(source: str, no_pwned: None) -> None:
    payload: dict[str, Any] = {"amount": 1}
    started = time.monotonic()
    with pytest.raises(SandboxError):
        execute(source, payload)
    assert time.monotonic() - started < 5
    assert payload == {"amount": 1}


def test_escapes_left_no_trace() -> None:
    assert not PWNED.exists()


def test_restrictedpython_blocks_str_format_at_run_time() -> None:
    # The static check refuses `.format`; this proves the run-time guard does too.
    with pytest.raises(NotImplementedError):
        safer_getattr_raise("{0.__class__}", "format")
    with pytest.raises(NotImplementedError):
        safer_getattr_raise(str, "format_map")
    for obj, name in (("{0.__class__}", "format"), ((), "__class__"), (iter([]), "gi_frame"), (str, "mro")):
        with pytest.raises((AttributeError, NotImplementedError)):
            sandbox._getattr(obj, name)


# --------------------------------------------------------------- deploy checks
@pytest.mark.parametrize(("source", "fragment"), [
    ("().__class__", "'__class__'"),
    ("__import__('os')", "'__import__'"),
    ("type(x)", "'type'"),
    ("'{}'.format(x)", "'format'"),
    ("x.gi_frame", "'gi_frame'"),
    ("f'{x:{w}}'", "format spec"),
    ("amount >", "syntax error"),
])
def test_check_expression_names_the_problem(source: str, fragment: str) -> None:
    problems = check_expression(source)
    assert problems and any(fragment in p and p.startswith("line 1") for p in problems), problems


@pytest.mark.parametrize(("source", "fragment"), [
    ("import os", "'import'"),
    ("from os import system", "'from ... import'"),
    ("x = 1\nwhile True:\n    pass", "line 2: not allowed: 'while'"),
    ("def f():\n    pass", "'def'"),
    ("class A:\n    pass", "'class'"),
    ("x = [y async for y in z]", "'async for'"),
    ("_x = 1", "'_x'"),
    ("match x:\n    case 1:\n        pass", "Match"),
])
def test_check_script_names_the_problem(source: str, fragment: str) -> None:
    problems = check_script(source)
    assert problems and any(fragment in p for p in problems), problems


def test_checks_accept_good_code() -> None:
    assert check_expression("amount > 10 and category in ('资金', '资产')") == []
    assert check_expression("due.year == 2024 and name.strip() != ''") == []
    assert check_script("total = 0\nfor _ in items:\n    total += 1\nmeta['n'] += 1\n"
                        "del x\nlabel = f'{total:>3}'\nkeep = sorted(items, key=lambda v: -v)\n"
                        "items[1:2] = [7, 8]\nflags = 1 | 4\nboth = set(items) | {9}\n") == []


def test_compiled_code_is_cached() -> None:
    source = "amount * 3 > 7  # cache probe"
    evaluate(source, {"amount": 1})
    hits = sandbox._compile.cache_info().hits
    assert evaluate(source, {"amount": 3}) is True
    assert sandbox._compile.cache_info().hits == hits + 1
