"""HTML form fields (name → list of strings) → typed JSON data. Text that does not parse is kept as typed, so
validation reports it and the page shows it again: nothing the user wrote is lost."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rectiflow.clock import BUSINESS_TZ
from rectiflow.forms.nodes import TRUE_VALUES, Form, resolve

_OMIT = object()


def coerce_submission(form: Form, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed JSON data from HTML form fields (name → list of strings, or a werkzeug MultiDict)."""
    return _coerce_object(form.schema, form.schema, "", raw)


def _values(raw: Mapping[str, Any], name: str) -> list[str]:
    if hasattr(raw, "getlist"):
        return [str(v) for v in raw.getlist(name)]
    value = raw.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _coerce_object(root: Mapping[str, Any], node: Mapping[str, Any], prefix: str,
                   raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    required = set(node.get("required") or ())
    for name, sub in (node.get("properties") or {}).items():
        sub = resolve(root, sub)
        if sub.get("readOnly") is True:
            continue
        value = _coerce_field(root, sub, prefix + name, raw, name in required)
        if value is not _OMIT:
            out[name] = value
    return out


def _coerce_field(root: Mapping[str, Any], sub: Mapping[str, Any], path: str, raw: Mapping[str, Any],
                  required: bool) -> Any:
    typ = sub.get("type")
    if typ == "object":
        value = _coerce_object(root, sub, path + ".", raw)
        return value if value or required else _OMIT
    if typ == "array":
        return _coerce_array(root, sub, path, raw)
    if typ == "boolean":
        return any(v.strip().lower() in TRUE_VALUES for v in _values(raw, path))
    texts = [t for t in (_clean(v) for v in _values(raw, path)) if t]
    return _coerce_scalar(sub, texts[0]) if texts else _OMIT


def _coerce_array(root: Mapping[str, Any], sub: Mapping[str, Any], path: str, raw: Mapping[str, Any]) -> list:
    item = resolve(root, sub.get("items"))
    if item.get("type") == "object":
        rows = []
        for index in _row_indices(raw, path):
            prefix = f"{path}[{index}]."
            if _row_filled(raw, prefix):
                rows.append(_coerce_object(root, item, prefix, raw))
        return rows
    removed = {v.strip() for v in _values(raw, path + "__remove")}
    texts = [t for t in (_clean(v) for v in _values(raw, path)) if t and t not in removed]
    return [_coerce_scalar(item, t) for t in texts]


def _row_indices(raw: Mapping[str, Any], path: str) -> list[int]:
    pattern = re.compile(re.escape(path) + r"\[(\d{1,6})\]\.")
    return sorted({int(m.group(1)) for m in (pattern.match(k) for k in raw) if m})


def _row_filled(raw: Mapping[str, Any], prefix: str) -> bool:
    return any(any(v.strip() for v in _values(raw, k)) for k in raw
               if k.startswith(prefix) and not k.endswith(("__remove", "__upload")))


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _coerce_scalar(node: Mapping[str, Any], text: str) -> Any:
    typ = node.get("type")
    if typ == "integer":
        if len(text) <= 30 and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return text
    if typ == "number":
        if len(text) <= 40 and re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
            number = float(text)
            if math.isfinite(number):
                return int(text) if re.fullmatch(r"[+-]?\d+", text) else number
        return text
    if node.get("format") == "date-time":
        return _datetime_with_offset(text)
    return text


def _datetime_with_offset(text: str) -> str:
    """A browser's ``datetime-local`` value (no offset) is Beijing time; anything else is kept."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?", text):
        try:
            local = datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            return text
        return local.replace(tzinfo=BUSINESS_TZ).isoformat(timespec="seconds")
    return text
