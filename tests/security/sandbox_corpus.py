"""The sandbox corpus: escapes and resource bombs a designer could put in a diagram (issue 15, fault 3).

Each entry is ``(source, data)``; every one must be refused with ``SandboxError``, by a check
(static or at run time), the step budget or the byte budget — never by running until the clock
stops it. ``test_sandbox_budget.py`` runs all of it on every change; add what you find here.
"""

from __future__ import annotations

from typing import Any

BIG = 2**99_000  # a 99 000-bit integer: allowed once, not a few thousand copies of it

# Expressions: titles, conditions, due dates, prefills, timer expressions.
EXPRESSIONS: list[tuple[str, dict[str, Any]]] = [
    # escapes
    ("__import__('os').system('touch /tmp/pwned')", {}),
    ("().__class__.__base__.__subclasses__()", {}),
    ("[c for c in ().__class__.__mro__]", {}),
    ("(lambda: 0).__globals__", {}),
    ("(lambda: 0).__code__", {}),
    ("(x for x in []).gi_frame.f_back", {}),
    ("'{0.__class__}'.format(1)", {}),
    ("'{x.__class__}'.format_map({'x': 1})", {}),
    ("str.format('{0.__class__}', 1)", {}),
    ("str.mro()", {}),
    ("getattr((), '__class__')", {}),
    ("type(())", {}),
    ("vars()", {}),
    ("dir()", {}),
    ("open('/etc/passwd').read()", {}),
    ("breakpoint()", {}),
    ("eval('1')", {}),
    ("due.__reduce_ex__(2)", {"due": "2025-01-01"}),
    ("print.__self__", {}),
    # statically visible bombs (refused by check_expression too)
    ("'x' * 10**9", {}),
    ("[0] * 10**8", {}),
    ("10 ** 10**7", {}),
    ("1 << 10**10", {}),
    ("list(range(10**9))", {}),
    ("sum(1 for i in range(1000) for j in range(1000))", {}),
    ("[[0 for a in range(1000)] for b in range(1000)]", {}),
    # bombs only visible at run time
    ("n * 'x'", {"n": 10**9}),
    ("'x'.ljust(n)", {"n": 10**9}),
    ("'%1000000000d' % 1", {}),
    ("f'{1:>1000000000}'", {}),
    ("[[0] * 10**6 for i in range(n)]", {"n": 30}),  # 30 lists within the per-value cap: 240 MB
    ("['x' * 10**6 for i in range(n)]", {"n": 30}),
    ("[list(big) for i in range(n)]", {"big": [0] * 10**6, "n": 100}),
    ("[big[:] for i in range(n)]", {"big": [0] * 10**6, "n": 100}),
    ("[[*big] for i in range(n)]", {"big": [0] * 10**6, "n": 100}),
    ("[{**d} for i in range(n)]", {"d": dict.fromkeys(range(50_000)), "n": 100}),
    ("[s.upper() for i in range(n)]", {"s": "a" * 10**6, "n": 100}),
    ("[x - 1 for i in range(n)]", {"x": BIG, "n": 5000}),
    ("[-x for i in range(n)]", {"x": BIG, "n": 5000}),
    ("x * x * x", {"x": BIG}),
    ("str([big for i in range(n)])", {"big": [0] * 10**5, "n": 1000}),
    ("f'{[big for i in range(n)]}'", {"big": [0] * 10**5, "n": 1000}),
    ("'%s' % ([big for i in range(n)],)", {"big": [0] * 10**5, "n": 1000}),
    ("sum(1 for a in items for b in items)", {"items": list(range(5000))}),  # 25 M steps
    ("(lambda f: f(f, 40))(lambda f, n: n and f(f, n - 1) + f(f, n - 1) or 1)", {}),
    ("sorted(items, key=lambda v: [v for i in items])", {"items": list(range(5000))}),
]

# Scripts: script tasks, pre- and post-scripts.
SCRIPTS: list[tuple[str, dict[str, Any]]] = [
    ("import os\nos.system('touch /tmp/pwned')", {}),
    ("while True:\n    pass", {}),
    ("def f():\n    pass", {}),
    ("e = __builtins__", {}),
    ("try:\n    x = ().__class__\nexcept Exception:\n    pass", {}),
    ("for i in range(1000):\n    for j in range(1000):\n        x = 1", {}),
    ("l = [1]\nfor x in l:\n    l.append(x)", {}),
    ("l = [1]\nfor i in range(64):\n    l.extend(l)", {}),
    ("s = 'ab'\nfor i in range(64):\n    s = s + s", {}),
    ("s = 'a'\ns *= 10**9", {}),
    ("x = 2 ** (10 ** 400)", {}),
    ("keep = []\nfor i in range(100):\n    keep.append([0] * 999_999)", {}),
    ("keep = []\nfor i in range(100):\n    keep.append('x' * 999_999)", {}),
    ("keep = []\nfor i in range(10_000):\n    keep.append(x + i)", {"x": BIG}),
    ("keep = []\nfor i in range(100):\n    keep.append(list(big))", {"big": [0] * 10**6}),
    ("s = ''\nfor i in range(100_000):\n    s += t", {"t": "x" * 1000}),
    ("y = [big for i in range(1000)]\nprint(y)", {"big": [0] * 10**5}),
    ("y = [big for i in range(1000)]\nz = repr(y)", {"big": [0] * 10**5}),
    ("y = [0] * 1000\nz = []\nfor i in range(100_000):\n    z.append(y)", {}),  # 10**8 values stored
    # the budget error cannot be swallowed: exhaustion is sticky
    ("keep = []\nfor i in range(100):\n    try:\n        keep.append([0] * 999_999)\n    except:\n        pass",
     {}),
]
