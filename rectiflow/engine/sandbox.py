"""Restricted evaluation of BPMN gateway conditions and script tasks.

Diagrams are written by process designers in a browser, so their Python must not reach the
worker.  Trimming ``__builtins__`` is no boundary (``().__class__.__base__.__subclasses__()``
walks to ``os``), so code is compiled with RestrictedPython, which routes every attribute,
item, iteration and write through guards, plus our own AST pass that refuses what a designer
never needs (imports, ``while``, ``def``/``class``, ``_`` names, ``str.format``), refuses
resource bombs it can see (``10 ** 10**7``, ``'x' * 10**9``, nested loops over constant
ranges beyond the step budget), and rewrites operators and calls into checked calls.

Every run has a `Budget`: steps (loop iterations + lambda calls), a wall-clock deadline checked
with the steps, and the bytes of the values it builds (each operator, call, slice and spread
result above a small size is charged, freed or not, so the budget bounds allocation work as
well as memory).  One operation is bounded by the size limits below, so no single step runs
long; a title or condition gets a far smaller budget than a script task.  A worker should
still run under a process timeout and an RLIMIT_AS/cgroup as a last line.
"""
from __future__ import annotations

import ast
import copy
import importlib
import math
import operator
import re
import reprlib
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from types import CodeType
from typing import Any, cast

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins, utility_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import (
    INSPECT_ATTRIBUTES,
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

__all__ = ["EXPRESSION_BUDGET", "SCRIPT_BUDGET", "Budget", "BudgetExceeded", "SandboxError",
           "check_expression", "check_script", "evaluate", "execute"]

MAX_RANGE = 100_000          # items in one range()
MAX_SEQUENCE = 1_000_000     # chars/items produced by one *, +, |, join, pad, extend, str(), ...
MAX_INT_BITS = 100_000       # ~30k decimal digits: far beyond any business number
MAX_STORED = 5_000_000       # values (shared parts counted each time) one script may store
MAX_FORMAT_WIDTH = 10_000    # widths/precisions in f-string specs and %-formatting
# Values smaller than this are not charged to the byte budget: each step can build only a few of
# them, so the step budget already bounds them, and charging every small int would cost time.
_CHARGE_FROM = 512
_FILENAME = "<sandbox>"
Helpers = Mapping[str, Callable[..., Any]]


@dataclass(frozen=True)
class Budget:
    """What one evaluate/execute may spend: loop iterations + lambda calls, wall-clock seconds, and
    bytes of the values it builds."""

    steps: int
    seconds: float
    bytes: int


# Titles, conditions, due dates and prefills run on every trigger, inside a user's request: a
# million-step title held a request for half a minute.  Real ones take a few dozen steps.
EXPRESSION_BUDGET = Budget(steps=10_000, seconds=2.0, bytes=16 * 2**20)
# Script tasks run inside a trigger too; they may loop over a round's problems, not over millions.
SCRIPT_BUDGET = Budget(steps=200_000, seconds=5.0, bytes=64 * 2**20)


class SandboxError(Exception):
    """Refused or failed restricted code.

    `problems` lists human-readable reasons (with line numbers when known).
    """

    def __init__(self, problems: str | list[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class BudgetExceeded(SandboxError):
    """The run spent its steps, time or bytes: a hostile or runaway diagram, not bad data."""


def _limit(size: float, what: str, cap: int = MAX_SEQUENCE) -> None:
    if size > cap:
        raise SandboxError(f"{what} would be too large (limit {cap})")


# ---------------------------------------------------------------- compile time
# Never provided at run time either; the check turns a later NameError into a clear refusal.
_FORBIDDEN_CALLS = frozenset({
    "exec", "eval", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "hasattr", "type", "object", "super", "breakpoint", "input", "help",
    "memoryview", "dir", "format", "exit", "quit", "classmethod", "staticmethod", "property"})
# "{0.__class__}".format(x) reaches attributes unguarded; `mro` hands out `object`.
_BLOCKED_ATTRS = frozenset({"format", "format_map", "mro"}) | INSPECT_ATTRIBUTES
# Scripts stay straight-line data manipulation; `while` could hang a worker for good.
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "'import'", ast.ImportFrom: "'from ... import'",
    ast.While: "'while' (use 'for' over a bounded iterable)",
    ast.FunctionDef: "'def'", ast.AsyncFunctionDef: "'async def'", ast.ClassDef: "'class'",
    ast.Global: "'global'", ast.Nonlocal: "'nonlocal'", ast.Yield: "'yield'",
    ast.YieldFrom: "'yield from'", ast.Await: "'await'", ast.AsyncFor: "'async for'",
    ast.AsyncWith: "'async with'", ast.With: "'with'"}


def _own_check(tree: ast.AST, budget: Budget) -> list[str]:
    """Our policy on top of RestrictedPython's; problems as 'line N: ...'."""
    problems: list[str] = _static_bombs(tree)
    steps = _static_steps(tree)
    if steps > budget.steps:
        what = "an expression" if isinstance(tree, ast.Expression) else "a script"
        loop = next((n for n in ast.walk(tree) if isinstance(n, (*_COMPREHENSIONS, ast.For))
                     and _static_steps(n) > budget.steps), None)
        problems.append(f"line {getattr(loop, 'lineno', 1)}: the loops run at least {steps} steps;"
                        f" {what} may run {budget.steps}")

    def refuse(node: ast.AST, msg: str) -> None:
        problems.append(f"line {getattr(node, 'lineno', '?')}: {msg}")

    for node in ast.walk(tree):
        if type(node) in _REFUSED_NODES:
            refuse(node, f"not allowed: {_REFUSED_NODES[type(node)]}")
        if isinstance(node, ast.comprehension) and node.is_async:
            refuse(node.target, "not allowed: 'async for'")
        name = (node.id if isinstance(node, ast.Name)
                else node.arg if isinstance(node, (ast.arg, ast.keyword))
                else node.name if isinstance(node, ast.ExceptHandler)
                else node.attr if isinstance(node, ast.Attribute) else None)
        if name and name.startswith("_") and name != "_":  # bare `_` is a harmless throwaway
            refuse(node, f"names starting with '_' are not allowed: {name!r}")
        elif isinstance(node, ast.Attribute) and node.attr in _BLOCKED_ATTRS:
            hint = " (use f-strings)" if node.attr.startswith("format") else ""
            refuse(node, f"attribute {node.attr!r} is not allowed{hint}")
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name) and func.id in _FORBIDDEN_CALLS:
            refuse(node, f"calling {func.id!r} is not allowed")
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:  # f"{x:>1000000000}"
            if any(isinstance(v, ast.FormattedValue) for v in ast.walk(node.format_spec)):
                refuse(node, "computed f-string format specs are not allowed")
            elif any(int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", ast.unparse(node.format_spec))):
                refuse(node, f"f-string widths above {MAX_FORMAT_WIDTH} are not allowed")
    return problems


# ------------------------------------------------- resource bombs visible in the source
def _const_int(node: ast.AST) -> int | None:
    """The value of a constant integer expression, computed only when it is small."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _const_int(node.operand)
        return None if value is None else -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        a, b = _const_int(node.left), _const_int(node.right)
        if a is None or b is None or _static_bits(node.op, a, b) > MAX_INT_BITS:
            return None
        fn = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Pow: operator.pow, ast.LShift: operator.lshift}.get(type(node.op))
        if fn is None or (isinstance(node.op, (ast.Pow, ast.LShift)) and b < 0):
            return None
        return int(fn(a, b))
    return None


def _static_bits(op: ast.operator, a: int, b: int) -> float:
    """Bits of `a op b` estimated without computing it (0 when it cannot grow)."""
    if isinstance(op, ast.Pow) and b > 0 and abs(a) > 1:
        return b if b > MAX_INT_BITS else b * math.log2(abs(a))
    if isinstance(op, ast.LShift) and a != 0 and b > 0:
        return a.bit_length() + b
    if isinstance(op, ast.Mult):
        return a.bit_length() + b.bit_length()
    return max(a.bit_length(), b.bit_length()) + 1


def _literal_len(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return len(node.value)
    if isinstance(node, (ast.List, ast.Tuple)):
        return len(node.elts)
    return None


def _static_bombs(tree: ast.AST) -> list[str]:
    """Powers, shifts, repeats and ranges whose constant operands already say they are too large."""
    problems = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.BinOp):
            a, b = _const_int(node.left), _const_int(node.right)
            shown = ast.unparse(node)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            if a is not None and b is not None and _static_bits(node.op, a, b) > MAX_INT_BITS:
                problems.append(f"line {line}: {shown} would be too large (limit {MAX_INT_BITS} bits)")
            elif isinstance(node.op, ast.Mult):
                for seq, n in ((node.left, b), (node.right, a)):
                    size = _literal_len(seq)
                    if size is not None and n is not None and size * n > MAX_SEQUENCE:
                        problems.append(f"line {line}: {shown} would be too large (limit {MAX_SEQUENCE})")
        elif _static_range(node) is not None and (_static_range(node) or 0) > MAX_RANGE:
            problems.append(f"line {line}: range() would be too large (limit {MAX_RANGE})")
    return problems


def _static_range(node: ast.AST) -> int | None:
    """Length of `range(<constants>)`, or of a literal string/list/tuple; None when unknown."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords and 1 <= len(node.args) <= 3):
        args = [_const_int(a) for a in node.args]
        if None in args or (len(args) == 3 and args[2] == 0):
            return None
        return len(range(*cast(list[int], args)))
    return _literal_len(node)


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _static_steps(node: ast.AST) -> int:
    """A lower bound of the steps `node` takes: loops over constant ranges and literals, nested.

    An iterable whose length is unknown may be empty, so it bounds nothing inside it."""
    if isinstance(node, _COMPREHENSIONS):
        total, runs = 0, 1
        for gen in node.generators:
            runs *= _static_range(gen.iter) or 0
            total += runs
        inner = (_static_steps(node.key) + _static_steps(node.value) if isinstance(node, ast.DictComp)
                 else _static_steps(node.elt))
        return total + runs * inner
    if isinstance(node, ast.For):
        runs = _static_range(node.iter) or 0
        return runs * (1 + sum(_static_steps(s) for s in node.body)) + sum(_static_steps(s) for s in node.orelse)
    return sum(_static_steps(child) for child in ast.iter_child_nodes(node))


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus routing of operators, calls and spreads through guards that
    check sizes beforehand and charge what was built to the run's budget."""

    _OPERATORS = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%",
                  ast.BitOr: "|", ast.BitXor: "^", ast.Sub: "-", ast.Div: "/", ast.FloorDiv: "//",
                  ast.RShift: ">>", ast.BitAnd: "&", ast.MatMult: "@"}

    def _replace(self, old: Any, new: Any) -> Any:
        copy_locations(new, old)
        return new

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        return self._replace(node, _call("_rf_binop_", ast.Constant(self._OPERATORS[type(node.op)]),
                                         node.left, node.right))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        node = cast(ast.UnaryOp, super().visit_UnaryOp(node))
        if isinstance(node.op, (ast.USub, ast.Invert)):  # -x of a big int is a new big int
            return self._replace(node, _call("_rf_built_", node))
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        # Every call's result is charged: list(x), sorted(x), s.upper(), d.copy(), str(x)...
        # `_rf_call_` also checks what str()/repr() would write out before they do.
        new = cast(ast.Call, super().visit_Call(node))
        return self._replace(new, ast.Call(func=ast.Name("_rf_call_", ast.Load()),
                                           args=[new.func, *new.args], keywords=new.keywords))

    def visit_Starred(self, node: ast.Starred) -> Any:
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):  # [*a, *a] copies a; a target `x, *rest = ...` does not
            node.value = self._replace(node.value, _call("_rf_spread_", node.value))
        return node

    def visit_Dict(self, node: ast.Dict) -> Any:
        node = self.node_contents_visit(node)
        node.values = [self._replace(v, _call("_rf_spread_", v)) if k is None else v
                       for k, v in zip(node.keys, node.values, strict=True)]  # {**d} copies d
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        # RestrictedPython refuses `d['n'] += 1`; scripts need it, so it goes through a guard.
        if isinstance(node.target, ast.Subscript) and not isinstance(node.target.slice, ast.Slice):
            target = self.visit(node.target)  # its value becomes _write_(container)
            return self._replace(node, ast.Expr(_call(
                "_rf_augitem_", target.value, target.slice,
                ast.Constant(IOPERATOR_TO_STR[type(node.op)]), self.visit(node.value))))
        return super().visit_AugAssign(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        # f"{x}" writes x out before the result can be measured; `_rf_show_` measures x first.
        node.value = self._replace(node.value, _call("_rf_show_", self.visit(node.value)))
        return node  # the spec stays a constant JoinedStr (see _own_check)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        # f"{s}{s}" in a loop doubles like s + s, so every f-string's result is measured.
        return self._replace(node, _call("_rf_fstr_", self.node_contents_visit(node)))

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        # Each call spends a step, so recursion through lambdas cannot explode.
        new = cast(ast.Lambda, super().visit_Lambda(node))
        new.body = ast.BoolOp(op=ast.Or(), values=[_call("_rf_tick_"), new.body])
        return ast.fix_missing_locations(new)


@lru_cache(maxsize=1024)
def _compile(source: str, mode: str) -> tuple[CodeType | None, tuple[str, ...]]:
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        tree = ast.parse(source, _FILENAME, mode)
        problems = _own_check(tree, EXPRESSION_BUDGET if mode == "eval" else SCRIPT_BUDGET)
        if problems:  # ours are clearer; RestrictedPython's would mostly repeat them
            return None, tuple(problems)
        result = compiler(tree, _FILENAME, policy=_Policy)  # type: ignore[arg-type]
    except SyntaxError as exc:
        return None, (f"line {exc.lineno}: " * bool(exc.lineno) + f"syntax error: {exc.msg}",)
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        return None, (f"cannot compile (nested too deeply?): {type(exc).__name__} {exc}".rstrip(),)
    return result.code, tuple(result.errors)


def check_expression(source: str) -> list[str]:
    """Deploy-time check of a gateway condition: [] when OK, else the problems."""
    return list(_compile(source, "eval")[1])


def check_script(source: str) -> list[str]:
    """Deploy-time check of a script task: [] when OK, else the problems."""
    return list(_compile(source, "exec")[1])


# ------------------------------------------------------------------- run time
_SEQ = (str, bytes, list, tuple)
_SIZED = (*_SEQ, set, frozenset, dict)
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")
_OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "%": "mod", "**": "pow",
             "<<": "lshift", ">>": "rshift", "|": "or_", "^": "xor", "&": "and_",
             "//": "floordiv", "@": "matmul"}
_OPS = {sym: getattr(operator, name) for sym, name in _OP_NAMES.items()}
_IOPS = {sym: getattr(operator, "i" + name.rstrip("_")) for sym, name in _OP_NAMES.items()}


class _Meter:
    """One run's budget as it is spent.  Exhaustion is sticky: code that catches the error with a
    bare `except:` fails again at its next step or charge."""

    __slots__ = ("budget", "steps", "checkpoint", "deadline", "bytes", "exhausted")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.steps = budget.steps
        self.checkpoint = budget.steps  # the first step checks; then every 32nd (the hot path is one compare)
        self.deadline = time.monotonic() + budget.seconds
        self.bytes = budget.bytes
        self.exhausted = ""

    def _stop(self, why: str) -> None:
        self.exhausted = self.exhausted or why
        self.checkpoint = self.budget.steps + 1  # every later step stops too
        raise BudgetExceeded(self.exhausted)

    def tick(self) -> None:
        self.steps -= 1
        if self.steps < self.checkpoint:
            self._check()

    def _check(self) -> None:
        if self.exhausted:
            self._stop(self.exhausted)
        if self.steps < 0:
            self._stop(f"step budget exhausted ({self.budget.steps} loop iterations/calls)")
        if time.monotonic() > self.deadline:
            self._stop(f"time budget exhausted ({self.budget.seconds:g} s)")
        self.checkpoint = max(self.steps - 32, 0)

    def charge(self, size: int) -> None:
        self.bytes -= size
        if self.bytes < 0:
            self._stop(f"memory budget exhausted (values built exceed {self.budget.bytes // 2**20} MiB)")
        if time.monotonic() > self.deadline:
            self._stop(f"time budget exhausted ({self.budget.seconds:g} s)")
        if self.exhausted:
            self._stop(self.exhausted)


# Guards are shared by every run; each run's meter is found here (per thread and context).
_METER: ContextVar[_Meter | None] = ContextVar("rectiflow_sandbox_meter", default=None)
_CHARGED = (str, bytes, int, list, tuple, dict, set, frozenset, bytearray)


def _built(value: Any) -> Any:
    """Charge a value the code just built (or may have: results of calls count too) and return it."""
    if isinstance(value, _CHARGED):
        size = sys.getsizeof(value)
        meter = _METER.get()
        if size >= _CHARGE_FROM and meter is not None:
            meter.charge(size)
    return value


def _shown(value: Any, what: str = "text") -> Any:
    """Refuse writing out a container whose text would be too large, before Python writes it: a
    list holding one big list a thousand times is small in memory and gigabytes as text."""
    if not isinstance(value, (list, tuple, dict, set, frozenset)):
        return value
    total, stack = 0, [value]
    while stack:  # shared parts count each time, as str() writes them; a cycle grows to the cap
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) + 4
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        else:
            total += 8
        _limit(total, what)
    return value


def _call_guard(func: Any, *args: Any, **kwargs: Any) -> Any:
    if (func is str or func is repr) and args:
        _shown(args[0], f"{func.__name__}() result")
    return _built(func(*args, **kwargs))


def _spread(value: Any) -> Any:
    """`*x` / `**x` in a display or call copies x: measured and charged like list(x)."""
    if not isinstance(value, (*_SIZED, range, Mapping)):
        value = list(_getiter_metered(value))
    _limit(len(value), "unpacked sequence")
    meter = _METER.get()
    if meter is not None and len(value) * 8 >= _CHARGE_FROM:
        meter.charge(len(value) * 8)
    return value


def _getiter_metered(ob: Any) -> Iterator[Any]:
    meter = _METER.get()
    for item in ob:
        if meter is not None:
            meter.tick()
        yield item


def _getitem(ob: Any, index: Any) -> Any:
    # RestrictedPython's default_guarded_getitem is `ob[index]`; inlined, this runs per item in loops.
    return _built(ob[index]) if type(index) is slice else ob[index]  # a slice is a copy


def _check_binop(op: str, a: Any, b: Any) -> None:
    """Refuse results that would eat memory/CPU before Python computes them."""
    ints = isinstance(a, int) and isinstance(b, int)
    if op == "*":
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, _SEQ) and isinstance(n, int) and n > 0:
                # One level of nesting counts too: str([[0] * 10**6] * 10**6) is 10**12 chars.
                nested = seq if isinstance(seq, (list, tuple)) else ()
                inner = sum(len(e) for e in nested if isinstance(e, _SIZED))
                _limit((len(seq) + inner) * n, "repeated sequence")
        if ints:
            _limit(a.bit_length() + b.bit_length(), "integer product (bits)", MAX_INT_BITS)
    elif op == "**" and ints and b > 0 and abs(a) > 1:
        _limit(b if b > MAX_INT_BITS else b * math.log2(abs(a)), "power (bits)", MAX_INT_BITS)
    elif op == "<<" and ints and a != 0:
        _limit(a.bit_length() + b, "shift (bits)", MAX_INT_BITS)
    elif op in "+|^" and isinstance(a, _SIZED) and isinstance(b, _SIZED):
        _limit(len(a) + len(b), "combined container")
    elif op == "%" and isinstance(a, bytes):
        raise SandboxError("%-formatting of bytes is not allowed")
    elif op == "%" and isinstance(a, str):  # '%1000000000d' % 1 allocates a gigabyte
        for match in _PRINTF.finditer(a):
            if "*" in match.groups("") or any(int(g or 0) > MAX_FORMAT_WIDTH for g in match.groups()):
                raise SandboxError(f"%-format width/precision above {MAX_FORMAT_WIDTH}")
        _shown(b, "%-formatting result")


def _binop(op: str, a: Any, b: Any) -> Any:
    _check_binop(op, a, b)
    return _built(_OPS[op](a, b))


def _inplacevar(op: str, a: Any, b: Any) -> Any:
    if isinstance(a, list) and op == "+=" and not isinstance(b, _SIZED):
        b = list(b)  # `l += reversed(l)` would otherwise double unmeasured
    _check_binop(op[:-1], a, b)
    if isinstance(a, (list, dict, set, bytearray)):  # grown in place: charge the growth only
        _built(b)
        return _IOPS[op[:-1]](a, b)
    return _built(_IOPS[op[:-1]](a, b))


def _augitem(container: Any, key: Any, op: str, value: Any) -> None:
    container[key] = _inplacevar(op, container[key], value)


_PADS = frozenset({"ljust", "rjust", "center", "zfill"})
_GROWERS = frozenset({"extend", "update", "union", "symmetric_difference", "symmetric_difference_update"})
_AMPLIFIERS = _PADS | _GROWERS | {"expandtabs", "replace", "join", "translate", "encode", "decode"}


def _amplifier(obj: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """Measure methods whose output can dwarf their input (and double again in a loop)."""
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name in _PADS and args:
            _limit(args[0], f"{name}() width")
        elif name == "expandtabs":
            _limit(len(obj) * (args[0] if args else kwargs.get("tabsize", 8)), "expandtabs() result")
        elif name == "replace" and len(args) >= 2 and len(args[1]) > len(args[0]):
            hits = obj.count(args[0]) if args[0] else len(obj) + 1
            _limit(len(obj) + hits * (len(args[1]) - len(args[0])), "replace() result")
        elif name == "join" and args:
            args = (list(args[0]),)  # materialised once to measure, then joined
            _limit(sum(len(i) for i in args[0] if isinstance(i, _SEQ)) + len(obj) * len(args[0]),
                   "join() result")
        elif name == "translate" and args and isinstance(args[0], dict):
            longest = max((len(v) for v in args[0].values() if isinstance(v, _SEQ)), default=1)
            _limit(len(obj) * longest, "translate() result")
        elif name in _GROWERS:  # l.extend(reversed(l)) / s.update(...) double per call
            args = tuple(a if isinstance(a, _SIZED) else list(a) for a in args)
            _limit(len(obj) + sum(len(a) for a in args) + len(kwargs), f"{name}() result")
        result = method(*args, **kwargs)
        if name in ("encode", "decode"):  # bounded growth per call (escapes, utf-32), but loopable
            _limit(len(result), f"{name}() result")
        return result
    return guarded


def _getattr(obj: Any, name: str) -> Any:
    if name in _BLOCKED_ATTRS:
        raise AttributeError(f"attribute {name!r} is not allowed")
    if name in _AMPLIFIERS and isinstance(obj, type):  # str.join(s, ...) would skip the wrapper
        raise AttributeError(f"call {name}() on a value, not on its type")
    value = safer_getattr_raise(obj, name)  # refuses '_' names, str.format*, frame attributes
    return _amplifier(obj, name, value) if name in _AMPLIFIERS and isinstance(obj, _SIZED) else value


class _ListWriter:
    """Write proxy for lists (dicts pass unwrapped): `l[len(l):] = reversed(l)` is measured too."""

    def __init__(self, target: list[Any]) -> None:
        self.target = target

    def __getitem__(self, key: Any) -> Any:
        return self.target[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, slice):
            value = _built(list(value))
            _limit(len(self.target) + len(value), "slice assignment result")
        self.target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.target[key]


def _write(obj: Any) -> Any:
    return _ListWriter(obj) if isinstance(obj, list) else full_write_guard(obj)


def _fstr(text: str) -> str:
    _limit(len(text), "f-string result")
    return cast(str, _built(text))


class _Printed(PrintCollector):
    """`print` in a script: what it would write is measured first, and all of it is capped."""

    size = 0

    def write(self, text: str) -> None:
        self.size += len(text)
        _limit(self.size, "printed text")
        super().write(text)

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        for value in objects:
            _shown(value, "printed text")
        super()._call_print(*objects, **kwargs)


def _range(*args: int) -> range:
    try:
        result = range(*args)
        _limit(len(result), "range()", MAX_RANGE)
    except OverflowError:
        raise SandboxError(f"range() would be too large (limit {MAX_RANGE})") from None
    return result


def _sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    if not isinstance(start, (int, float, Decimal)):  # sum(lists, []) is unmeasured concatenation
        raise SandboxError("sum() start must be a number")
    return sum(iterable, start)


def _import(name: str, *args: Any, **kwargs: Any) -> Any:
    # C code such as date.strftime imports `time` through the frame's builtins.  Sandboxed
    # code can never name `__import__`, so only such internal imports arrive here.
    if name not in ("time", "_strptime"):
        raise ImportError(f"import of {name!r} is not allowed")
    return importlib.import_module(name)


_EXCEPTIONS = ("Exception", "ValueError", "TypeError", "KeyError", "IndexError", "LookupError",
               "ArithmeticError", "ZeroDivisionError", "AttributeError", "RuntimeError")
# An allow-list: safe_builtins also carries pow, id, __build_class__, setattr, delattr, ...
_BUILTINS: dict[str, Any] = {
    **{n: safe_builtins[n] for n in ("abs", "bool", "float", "int", "isinstance", "len", "round",
                                     "str", "chr", "ord", "divmod", "repr", *_EXCEPTIONS)},
    "set": utility_builtins["set"], "frozenset": utility_builtins["frozenset"],
    "list": list, "tuple": tuple, "dict": dict, "min": min, "max": max, "sorted": sorted,
    "any": any, "all": all, "enumerate": enumerate, "zip": zip, "reversed": reversed,
    "range": _range, "sum": _sum, "__import__": _import, "None": None, "True": True, "False": False}
_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS, "_getattr_": _getattr, "_getitem_": _getitem,
    "_write_": _write, "_inplacevar_": _inplacevar, "_rf_binop_": _binop,
    "_rf_augitem_": _augitem, "_rf_fstr_": _fstr, "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_print_": _Printed,
    "_apply_": lambda f, *a, **kw: f(*a, **kw), "_rf_call_": _call_guard, "_rf_built_": _built,
    "_rf_spread_": _spread, "_rf_show_": _shown}
_PER_RUN = frozenset({"_getiter_", "_rf_tick_"})


def _namespace(data: Mapping[str, Any], helpers: Helpers | None, meter: _Meter) -> dict[str, Any]:
    helpers = helpers or {}
    bad = [n for n in helpers if not n.isidentifier() or n.startswith("_")]
    if bad:
        raise SandboxError(f"invalid helper names: {bad}")
    clash = sorted(set(data) & set(helpers))
    if clash:
        raise SandboxError([f"data key {k!r} shadows a helper of the same name" for k in clash])
    tick = meter.tick

    def getiter(ob: Any) -> Iterator[Any]:
        for item in ob:
            tick()
            yield item

    # `_` keys are never injected: code cannot name them, and they could replace guards.
    visible = {k: v for k, v in data.items() if isinstance(k, str) and not k.startswith("_")}
    return {**visible, **helpers, **_GUARDS, "_getiter_": getiter, "_rf_tick_": tick}


def _describe(exc: Exception) -> str:
    if isinstance(exc, SandboxError):
        return str(exc)
    # str() of an exception carrying a list that shares a big sub-list many times would
    # expand it in full; reprlib bounds that.
    plain = all(isinstance(a, (*_SCALARS, bytes)) for a in exc.args)
    text = str(exc) if plain else ", ".join(reprlib.repr(a) for a in exc.args)
    return f"{type(exc).__name__}: {text[:500]}"


def _run(source: str, mode: str, namespace: dict[str, Any], meter: _Meter) -> Any:
    code, problems = _compile(source, mode)
    if code is None or problems:
        raise SandboxError(list(problems))
    token = _METER.set(meter)
    try:
        return eval(code, namespace)  # noqa: S307 - restricted bytecode, guarded namespace
    except Exception as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == _FILENAME]
        where = f"line {lines[-1]}: " * bool(lines)
        if meter.exhausted:  # even when the code caught it and failed on something else later
            raise BudgetExceeded(where + meter.exhausted) from exc
        raise SandboxError(where + _describe(exc)) from exc
    finally:
        _METER.reset(token)


def evaluate(source: str, data: Mapping[str, Any], helpers: Helpers | None = None,
             budget: Budget = EXPRESSION_BUDGET) -> Any:
    """Value of the restricted expression `source`, with `data` and `helpers` as names."""
    meter = _Meter(budget)
    return _run(source, "eval", _namespace(data, helpers, meter), meter)


_SCALARS = (type(None), bool, int, float, str, date, Decimal)  # date covers datetime
_DROP = object()


def _storable(value: Any, memo: dict[int, tuple[Any, int]], depth: int = 0) -> tuple[Any, int]:
    """(JSON-like copy of `value`, its expanded size), or (_DROP, 0) if it holds anything else.

    Tuples become lists.  `memo` visits each container once (shared sub-lists would otherwise
    cost 2**depth) and, pre-seeded with _DROP, turns cycles into a drop.  The size counts
    shared parts every time, as serialising the task data will.
    """
    if isinstance(value, _SCALARS):
        return value, 1
    if not isinstance(value, (list, tuple, dict)) or depth > 100:
        return _DROP, 0
    if id(value) in memo:
        return memo[id(value)]
    memo[id(value)] = (_DROP, 0)
    is_dict = isinstance(value, dict)
    out: Any = {} if is_dict else [None] * len(value)
    size = 1
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        stored, n = _storable(item, memo, depth + 1)
        if stored is _DROP or (is_dict and not isinstance(key, _SCALARS)):
            return _DROP, 0  # the memo keeps the drop
        out[key] = stored
        size += n  # checked as we go: a huge shared structure is not walked to the end
        _limit(size, "script result (after expanding shared lists)", MAX_STORED)
    memo[id(value)] = (out, size)
    return out, size


def execute(source: str, data: dict[str, Any], helpers: Helpers | None = None,
            budget: Budget = SCRIPT_BUDGET) -> None:
    """Run the restricted script; write its storable top-level variables back into `data`.

    The script works on a deep copy, so a failing script leaves `data` untouched.
    """
    try:
        work = copy.deepcopy({k: v for k, v in data.items() if isinstance(k, str) and not k.startswith("_")})
    except Exception as exc:
        raise SandboxError(f"task data cannot be copied: {exc}") from exc
    meter = _Meter(budget)
    namespace = _namespace(work, helpers, meter)
    _run(source, "exec", namespace, meter)
    reserved = _GUARDS.keys() | _PER_RUN | set(helpers or {})
    memo: dict[int, tuple[Any, int]] = {}
    updates: dict[str, Any] = {}
    removed = [key for key in work if key not in namespace]  # the script `del`-eted them
    total = 0
    for key, value in namespace.items():
        if key in reserved or key.startswith("_"):
            continue  # guards, helpers, `_print` and the like never leak into data
        stored, size = _storable(value, memo)
        total += size
        if stored is not _DROP:
            updates[key] = stored
        elif key in work and value is not work[key]:
            removed.append(key)  # rebound to something unstorable: the old value is stale
    # Shared references can make a small heap serialise to terabytes; refuse before storing.
    _limit(total, "script result (after expanding shared lists)", MAX_STORED)
    for key in removed:
        data.pop(key, None)
    data.update(updates)
