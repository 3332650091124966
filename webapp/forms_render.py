"""Server-side HTML for task forms (schema subset: :mod:`rectiflow.forms`).

:func:`render_form` turns a form, the current values and per-field errors into field view models
(:class:`Field`) and renders them with the macros in ``templates/forms/_fields.html`` (autoescaped).
Repeating rows need ``static/js/form-rows.js`` on the page for "add row"/"remove row"; without it
one empty row is always there. Upload fields post ``<path>__upload`` (stored elsewhere, whose ids
are then added under ``<path>``) and ``<path>__remove`` for ids to drop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from rectiflow.clock import BUSINESS_TZ
from rectiflow.forms import (
    Form,
    choice_options,
    item_kind,
    lang,
    localised,
    ordered_properties,
    resolve,
    ui_options,
)
from rectiflow.i18n import N_, Message, translate

# The renderer's own words, as catalogue message ids (rendered in the form's locale like every message).
UI_TEXT = {
    "add_row": N_("Add row"),
    "remove_row": N_("Remove row"),
    "required": N_("required"),
    "choose": N_("Please choose"),
    "yes": N_("Yes"),
    "no": N_("No"),
    "remove_file": N_("Remove"),
    "form_errors": N_("Please correct the following:"),
}
# Not words: how a language lists values, and the mark of an empty value.
SEPARATORS = {"zh_CN": "、", "en": ", "}
EMPTY = "—"
INPUT_TYPES = {"integer": "number", "number": "number", "date": "date", "date-time": "datetime-local",
               "email": "email"}
FileInfo = Callable[[str], tuple[str, str | None]]
_MISSING = object()

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass
class Field:
    """One rendered field. ``kind`` picks the macro; ``attrs`` are extra attributes of the control."""

    kind: str
    path: str
    id: str
    label: str = ""
    help: str = ""
    required: bool = False
    errors: list[str] = field(default_factory=list)
    value: Any = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    children: list[Field] = field(default_factory=list)
    rows: list[Field] = field(default_factory=list)
    template: Field | None = None
    files: list[tuple[str, str, str | None]] = field(default_factory=list)
    multiple: bool = False
    readonly: bool = False
    display: str = ""
    number: str = ""

    @property
    def aria(self) -> dict[str, str | None]:
        described = [i for i, on in ((f"{self.id}-help", self.help), (f"{self.id}-error", self.errors)) if on]
        return {"aria-invalid": "true" if self.errors else None,
                "aria-describedby": " ".join(described) or None}


class _Ctx:
    def __init__(self, form: Form, errors: Mapping[str, list[Any]], locale: str, readonly: bool,
                 file_info: FileInfo | None, id_prefix: str = "") -> None:
        self.form, self.errors, self.locale, self.readonly = form, errors, locale, readonly
        self.file_info = file_info
        self.id_prefix = id_prefix
        self.used: set[str] = set()
        self.text = {k: translate(locale, msgid) for k, msgid in UI_TEXT.items()}
        self.text |= {"empty": EMPTY, "separator": SEPARATORS.get(lang(locale), SEPARATORS["en"])}

    def take(self, path: str, *, items: bool = False) -> list[str]:
        """Errors of ``path`` (and with ``items``, of its elements ``path[i]``), marked as shown."""
        item = re.compile(re.escape(path) + r"\[\d+\]")
        paths = [p for p in self.errors if p == path or items and item.fullmatch(p)]
        self.used.update(paths)
        return [m.render(self.locale) if isinstance(m, Message) else m for p in paths for m in self.errors[p]]


def html_id(path: str) -> str:
    return "f-" + re.sub(r"[\[\].]+", "-", path).strip("-")


def render_form(form: Form, values: Mapping[str, Any] | None, errors: Mapping[str, list[str]] | None, *,
                locale: str, readonly: bool = False, file_info: FileInfo | None = None,
                id_prefix: str = "") -> Markup:
    """The form's fields as HTML (no ``<form>`` element, no submit button).

    ``file_info(file_id) -> (display name, url or None)`` names uploaded files; by default the id.
    ``id_prefix`` keeps element ids unique when several forms share a page (earlier steps shown
    read-only beside the one being filled in).
    Errors whose path matches no field are listed at the top with those under ``""``.
    """
    ctx = _Ctx(form, errors or {}, locale, readonly, file_info, id_prefix)
    fields = _fields(ctx, form.schema, values or {}, "", readonly)
    top = list((errors or {}).get("", []))
    top += [m for p, msgs in (errors or {}).items() if p not in ctx.used and p for m in msgs]
    macros: Any = _env.get_template("forms/_fields.html").module
    html = macros.form_fields(fields, top, ctx.text)
    assert isinstance(html, Markup)  # autoescaped macro output
    return html


def _fields(ctx: _Ctx, node: Mapping[str, Any], values: Any, path: str, ro: bool) -> list[Field]:
    values = values if isinstance(values, Mapping) else {}
    required = set(node.get("required") or ())
    return [_field(ctx, sub, values.get(name, _MISSING), f"{path}.{name}" if path else name,
                   name in required, ro or sub.get("readOnly") is True)
            for name, sub in ordered_properties(ctx.form, node, path)]


def _field(ctx: _Ctx, sub: Mapping[str, Any], value: Any, path: str, required: bool, ro: bool) -> Field:
    opts = ui_options(ctx.form, path)
    typ, item = sub.get("type"), resolve(ctx.form.schema, sub.get("items"))
    scalar_list = typ == "array" and item_kind(item) != "rows"
    f = Field(kind="", path=path, id=ctx.id_prefix + html_id(path), required=required, readonly=ro,
              errors=ctx.take(path, items=scalar_list),
              label=localised(sub.get("title", ""), opts, "title", ctx.locale),
              help=localised(sub.get("description", ""), opts, "description", ctx.locale))
    if value is _MISSING:
        value = sub.get("default") if not ro and "[" not in path else None
    if typ == "object":
        f.kind, f.children = "object", _fields(ctx, sub, value, path, ro)
    elif typ == "array" and item_kind(item) == "rows":
        _rows(ctx, f, sub, item, value)
    elif sub.get("format") == "file-ref" or typ == "array" and item_kind(item) == "files":
        _files(ctx, f, value, multiple=typ == "array", opts=opts)
    elif ro:
        f.kind, f.display = "readonly", _display(ctx, sub, item, opts, value)
    elif typ == "array":
        f.kind, f.options = "checkboxes", _options(ctx, item, opts)
        f.value = [_html_value(v) for v in value] if isinstance(value, list) else []
    elif "enum" in sub or "oneOf" in sub:
        f.kind = "radio" if opts.get("widget") == "radio" else "select"
        f.options, f.value = _options(ctx, sub, opts), _html_value(value)
    elif typ == "boolean":
        f.kind, f.value = "checkbox", value is True
    else:
        _input(ctx, f, sub, opts, value)
    return f


def _rows(ctx: _Ctx, f: Field, sub: Mapping[str, Any], item: Mapping[str, Any], value: Any) -> None:
    existing = [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
    low, high = sub.get("minItems", 0), sub.get("maxItems")
    count = len(existing)
    if not f.readonly:
        count = max(count + 1, low, 1)
        count = max(min(count, high), len(existing)) if high is not None else count
    f.kind, f.attrs = "rows", {"data-min": low, "data-max": high}
    f.rows = [_row(ctx, f, item, existing[i] if i < len(existing) else {}, str(i)) for i in range(count)]
    if not f.readonly:
        blank = _Ctx(ctx.form, {}, ctx.locale, ctx.readonly, ctx.file_info, ctx.id_prefix)
        f.template = _row(blank, f, item, {}, "__INDEX__")


def _row(ctx: _Ctx, parent: Field, item: Mapping[str, Any], value: Mapping[str, Any], index: str) -> Field:
    path = f"{parent.path}[{index}]"
    number = str(int(index) + 1) if index.isdigit() else ""
    row = Field(kind="row", path=path, id=ctx.id_prefix + html_id(path), label=parent.label, readonly=parent.readonly,
                number=number, errors=ctx.take(path), attrs={"data-index": index})
    row.children = _fields(ctx, item, value, path, parent.readonly)
    return row


def _files(ctx: _Ctx, f: Field, value: Any, *, multiple: bool, opts: Mapping[str, Any]) -> None:
    ids = [v for v in value if isinstance(v, str)] if isinstance(value, list) else (
        [value] if isinstance(value, str) and value else [])
    info = ctx.file_info or (lambda fid: (fid[:12] + "…" if len(fid) > 12 else fid, None))
    f.kind, f.multiple = "file", multiple
    f.files = [(fid, *info(fid)) for fid in ids]
    f.attrs = {"accept": opts.get("accept") if isinstance(opts.get("accept"), str) else None}


def _input(ctx: _Ctx, f: Field, sub: Mapping[str, Any], opts: Mapping[str, Any], value: Any) -> None:
    typ, fmt = sub.get("type"), sub.get("format")
    max_length = sub.get("maxLength")
    placeholder = localised(opts.get("placeholder", ""), opts, "placeholder", ctx.locale) or None
    f.attrs = {"placeholder": placeholder, "maxlength": max_length}
    if opts.get("widget") == "textarea" or (max_length or 0) > 200:
        f.kind, f.value = "textarea", _html_value(value)
        f.attrs["rows"] = opts.get("rows", 4)
        return
    f.kind, f.value = "input", _html_value(value)
    input_type = INPUT_TYPES.get(str(typ)) or INPUT_TYPES.get(str(fmt)) or "text"
    if typ in ("integer", "number"):
        step = "1" if typ == "integer" else "any"
        f.attrs.update(min=sub.get("minimum"), max=sub.get("maximum"), step=step)
        valid = value is None or isinstance(value, (int, float)) and not isinstance(value, bool)
        input_type = "number" if valid else "text"
        f.attrs["inputmode"] = None if valid else ("numeric" if typ == "integer" else "decimal")
    elif fmt == "date" and f.value and not _is_date(f.value):
        input_type = "text"
    elif fmt == "date-time" and f.value:
        local = _local_datetime(f.value)
        input_type, f.value = ("datetime-local", local) if local else ("text", f.value)
    f.attrs["type"] = input_type


def _options(ctx: _Ctx, node: Mapping[str, Any], opts: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(_html_value(v), label) for v, label in choice_options(node, opts, ctx.locale)]


def _display(ctx: _Ctx, sub: Mapping[str, Any], item: Mapping[str, Any], opts: Mapping[str, Any],
             value: Any) -> str:
    if value is None or value == "" or value == [] or value is _MISSING:
        return ctx.text["empty"]
    if isinstance(value, list):
        return ctx.text["separator"].join(_display(ctx, item, {}, opts, v) for v in value)
    if isinstance(value, bool):
        return ctx.text["yes" if value else "no"]
    if "enum" in sub or "oneOf" in sub:
        labels = {_html_value(v): label for v, label in choice_options(sub, opts, ctx.locale)}
        return labels.get(_html_value(value), str(value))
    if sub.get("format") == "date-time" and isinstance(value, str):
        return (_local_datetime(value) or value).replace("T", " ")
    return str(value)


def _html_value(value: Any) -> str:
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_date(text: str) -> bool:
    try:
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)) and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _local_datetime(text: str) -> str | None:
    """An RFC 3339 value as a ``datetime-local`` value in Beijing time; None if unreadable."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(BUSINESS_TZ)
    return moment.strftime("%Y-%m-%dT%H:%M")
