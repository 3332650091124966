"""Server-side validation of a submission against its form (always: the browser is never trusted).

Errors are message keys and parameters per field path (:func:`collect_errors`), as
:class:`~rectiflow.i18n.Message` objects (:func:`submission_errors`) for an error the edge renders, or
rendered in a locale (:func:`validate_submission`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from rectiflow.forms.messages import form_locale, message
from rectiflow.forms.nodes import FILE_REF, Form, readonly_paths, resolve, ui_path
from rectiflow.i18n import Message

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("file-ref")
def _is_file_ref(value: object) -> bool:
    return not isinstance(value, str) or bool(FILE_REF.fullmatch(value))


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", value):
        return False
    return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).tzinfo is not None


@lru_cache(maxsize=1024)
def _validator(form: Form) -> Draft202012Validator:
    """One validator per form version (forms are hashable by key and content hash, and a content
    hash never changes meaning): building it costs as much as validating a small form."""
    return Draft202012Validator(form.schema, format_checker=FORMAT_CHECKER)


def message_for(error: ValidationError) -> tuple[str, dict[str, Any]]:
    """The message key and parameters of one jsonschema error (see :data:`FORM_MESSAGES`)."""
    v = error.validator
    if v == "required":
        return ("if_then_required" if _conditional(error) else "required"), {}
    if v in ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"):
        return str(v), {"limit": error.validator_value}
    if v == "type":
        expected = error.validator_value
        return "type", {"expected": expected if isinstance(expected, str) else expected[0]}
    if v == "format":
        return "format_" + str(error.validator_value).replace("-", "_"), {}
    if v in ("enum", "oneOf"):
        return "enum", {}
    if v in ("const", "pattern", "uniqueItems", "additionalProperties"):
        return str(v), {}
    return "invalid", {}


def _conditional(error: ValidationError) -> bool:
    path = list(error.absolute_schema_path)
    branch = path[2:3] if path[:1] == ["allOf"] else path[:1]
    return branch in (["then"], ["else"])


def error_paths(error: ValidationError) -> list[str]:
    """Field paths an error belongs to; ``required`` goes to the missing child, not the parent."""
    parts = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [m for m in error.validator_value if m not in error.instance]
        named = [m for m in missing if error.message == f"{m!r} is a required property"]
        return [field_path([*parts, m]) for m in (named or missing)]
    return [field_path(parts)]


def field_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def collect_errors(form: Form, data: Any) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Errors as message keys and parameters, per field path (readOnly fields excluded)."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for error in _validator(form).iter_errors(data):
        if error.validator == "additionalProperties":
            for path, message in _unknown_field_messages(error):
                found.setdefault(path, []).append(message)
            continue
        message = message_for(error)
        for path in error_paths(error):
            if message not in found.setdefault(path, []):
                found[path].append(message)
    if not found:
        return {}
    readonly = readonly_paths(form)
    result = {}
    for path, messages in found.items():
        plain = ui_path(path)
        if any(plain == r or plain.startswith(r + ".") for r in readonly):
            continue
        typed = [m for m in messages if m[0] == "type"]
        result[path] = typed or messages
    return result


def _unknown_field_messages(error: ValidationError) -> list[tuple[str, tuple[str, dict[str, Any]]]]:
    """One finding per key the form does not declare, at the key's own path (so the client sees which)."""
    declared = error.schema.get("properties") or {} if isinstance(error.schema, Mapping) else {}
    parts = list(error.absolute_path)
    extras = sorted(str(k) for k in error.instance if k not in declared) if isinstance(error.instance, Mapping) else []
    return [(field_path([*parts, k]), ("unknown_field", {"name": k})) for k in extras]


def unknown_field_errors(form: Form | None, data: Any) -> dict[str, list[Message]]:
    """Only the keys ``data`` holds that the form does not declare (a draft may be incomplete, but it may
    not carry anything else). Without a form every key is unknown."""
    if not isinstance(data, Mapping):
        return {"": [message("type", {"expected": "object"})]}
    if form is None:
        return {str(k): [message("no_form", {"name": k})] for k in sorted(data, key=str)}
    found: dict[str, list[Message]] = {}
    for error in _validator(form).iter_errors(data):
        if error.validator == "additionalProperties":
            for path, (key, params) in _unknown_field_messages(error):
                found.setdefault(path, []).append(message(key, params))
    return found


def unknown_fields(form: Form | None, data: Any, locale: str = "zh_CN") -> dict[str, list[str]]:
    """:func:`unknown_field_errors` rendered in ``locale``."""
    return _rendered(unknown_field_errors(form, data), locale)


def drop_readonly(form: Form, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the top-level readOnly fields: shown to the user, never taken from a submission
    (the value already in the workflow stays). Nested readOnly fields are dropped the same way."""
    def clean(node: Mapping[str, Any], value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        props = node.get("properties") or {}
        out = {}
        for key, item in value.items():
            sub = resolve(form.schema, props.get(key, {}))
            if sub.get("readOnly") is True:
                continue
            if sub.get("type") == "object":
                item = clean(sub, item)
            elif sub.get("type") == "array" and isinstance(item, list):
                rows = resolve(form.schema, sub.get("items") or {})
                item = [clean(rows, r) for r in item] if rows.get("type") == "object" else item
            out[key] = item
        return out
    return clean(form.schema, data)


def submission_errors(form: Form, data: Any) -> dict[str, list[Message]]:
    """Error messages per field path, to be rendered where the reader's locale is known; empty when valid."""
    return {path: [message(k, p) for k, p in messages] for path, messages in collect_errors(form, data).items()}


def validate_submission(form: Form, data: Any, locale: str = "zh_CN") -> dict[str, list[str]]:
    """Rendered error messages per field path; empty when ``data`` is valid."""
    return _rendered(submission_errors(form, data), locale)


def _rendered(errors: Mapping[str, list[Message]], locale: str) -> dict[str, list[str]]:
    loc = form_locale(locale)
    return {path: [m.render(loc) for m in messages] for path, messages in errors.items()}
