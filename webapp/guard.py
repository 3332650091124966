"""The edge against a hostile client: submitted text the rest of the app must never see, and the security
headers of every response.

Before any view runs, a JSON body is read here with a nesting limit (a 100,000-deep array used to end in
RecursionError), and every string in it, every form field and every query argument is refused with a
422 naming where it is if it holds a NUL (PostgreSQL cannot store one) or a lone surrogate (no database
can: it is not text). After every view, the headers: a Content-Security-Policy without inline script,
no framing, no MIME sniffing, no referrer to other sites."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _

from webapp.errors import error_response

MAX_JSON_DEPTH = 64
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
# flask-smorest's Swagger UI page starts itself with an inline script: that one page may run it.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (checked before parsing, without
    recursion: the parser's own recursion is what a deep document attacks)."""
    depth = 0
    for m in _STRING_OR_BRACKET.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return _("contains a NUL character (\\u0000), which is not allowed in text")
    if _SURROGATE.search(value):
        return _("contains an unpaired surrogate (such as \\ud800), which is not valid text")
    return None


def _walk(value: Any) -> tuple[str, str] | None:
    """The first string (key or value) of a parsed document that is not storable text: (path, problem)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return path or "(body)", problem
        elif isinstance(item, dict):
            for k, v in item.items():
                sub = f"{path}.{k}" if path else str(k)
                problem = text_problem(k)
                if problem:
                    return sub.encode("utf-8", "backslashreplace").decode(), problem
                stack.append((sub, v))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
    return None


def _json_finding() -> tuple[str, str] | None:
    if not request.is_json:
        return None
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "(body)", _("is not UTF-8 encoded")
    if too_deep(text):
        return "(body)", _("is nested deeper than %(limit)d levels", limit=MAX_JSON_DEPTH)
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None  # not JSON at all: the schema layer answers that with its own message
    return _walk(parsed)


def _finding() -> tuple[str, str] | None:
    found = _json_finding()
    if found:
        return found
    sources = [request.args] + ([request.form] if request.method in {"POST", "PUT", "PATCH"} else [])
    for source in sources:
        for key, value in source.items(multi=True):
            problem = text_problem(key) or text_problem(value)
            if problem:
                return key.replace("\x00", "\\u0000"), problem
    return None


def _check_input() -> Any:
    found = _finding()
    if found is None:
        return None
    where, problem = found
    return error_response(422, _("%(field)s %(problem)s.", field=where, problem=problem), {where: [problem]})


def _headers(response: Any) -> Any:
    h = response.headers
    h.setdefault("Content-Security-Policy", DOCS_CSP if request.path.endswith("/docs") else CSP)
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_check_input)
    app.after_request(_headers)
