"""Task forms: a JSON Schema (draft 2020-12) plus a UI schema, loaded, coerced and validated here.

A form file ``forms/<key>.json`` is ``{"schema": {...}, "ui": {...}}``. The web layer renders it as
plain HTML (``webapp.forms_render``); the server always validates what comes back:

    form = load_form(json.load(f), key)              # DefinitionError with findings if unusable
    data = coerce_submission(form, request.form.to_dict(flat=False))
    errors = validate_submission(form, data, locale)  # {"measures[1].deadline": ["请输入有效日期…"]}

On errors the task stays ready and the page is rendered again from ``data``: invalid text (``"abc"``
in an integer field, ``"2025-02-30"``) is kept as typed, so nothing is lost.

Supported schema constructs (anything else is refused by :func:`load_form`)
--------------------------------------------------------------------------
- ``type``: ``object`` (top level, nested objects), ``string``, ``integer``, ``number``,
  ``boolean``, ``array``. Every property declares its ``type`` (directly or through ``$ref``) and a
  non-empty ``title`` (the Chinese label). Property names are identifiers (``[A-Za-z_][A-Za-z0-9_]*``).
- string ``format``: ``date`` (``YYYY-MM-DD``, really checked: 2025-02-30 fails), ``date-time``
  (RFC 3339 with offset; a browser's ``YYYY-MM-DDTHH:MM`` is read as Beijing time), ``email``,
  ``file-ref`` (custom: the id of a stored file, a sha256 hex digest ``^[0-9a-f]{64}$``).
- choices: ``enum`` (display labels from ``ui.<field>.labels``) or ``oneOf`` of ``{const, title}``.
- ``const``, ``minLength``, ``maxLength``, ``pattern``, ``minimum``, ``maximum``.
- arrays: ``items`` must be choices (multi-select / checkbox group), file-refs (several files) or
  an object (repeating rows, not nested in other rows); ``minItems``, ``maxItems``, ``uniqueItems``.
- objects: ``properties``, ``required`` and ``additionalProperties: false``, which every object
  declares (checked at deploy): a submission sets only the fields its form names.
- property names never name what the runtime owns (:func:`reserved_field`: identifiers ending in
  ``_id``/``_ids``, ``completed_by``, scope names): a form cannot set a workflow's identifiers or scope.
- annotations: ``title``, ``description`` (help text), ``default`` (initial value; not applied
  inside repeating rows), ``readOnly`` (shown as text; dropped on submit, the server keeps the
  existing value; no errors are reported for it), ``examples``, ``$comment``.
- top level only: ``$schema`` (must be draft 2020-12), ``$id``, ``$defs`` with ``$ref``
  ``"#/$defs/<name>"`` (sibling annotations such as ``title`` allowed), and conditionals
  ``if``/``then``/``else`` (or ``allOf`` of such blocks) whose branches use only ``properties``
  (with ``const``/``enum``/length/range/``pattern``/item-count constraints) and ``required`` on
  top-level properties. Put the tested field in the ``if``'s ``required`` too, or the condition
  holds when that field is empty.

UI schema
---------
Keys are dotted property paths with array items transparent (``"decision"``,
``"measures.deadline"``) plus ``"ui:order"`` (list of top-level names; unlisted ones follow in schema
order). Options per field: ``widget`` (``text``/``textarea``/``select``/``radio``/``checkboxes``),
``labels`` ({value: 中文 or {locale: text}}), ``labels_en``, ``title_en``, ``description_en``,
``placeholder``, ``placeholder_en``, ``i18n`` ({locale: title or {title, description,
placeholder, labels}}), ``rows`` (textarea height), ``accept`` (file input), ``ui:order`` (for an
object or rows field).

Field paths
-----------
The HTML field name of a value and the key of its errors are the same: ``summary``, ``a.b``,
``measures[0].deadline``; errors about the whole submission are under ``""``.
Findings of :func:`load_form` name a JSON pointer into the schema (``/properties/measures/items``)
or, for the UI schema, ``/ui/<key>``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

from rectiflow.clock import BUSINESS_TZ
from rectiflow.errors import DefinitionError

DIALECT = "https://json-schema.org/draft/2020-12/schema"
FILE_REF = re.compile(r"^[0-9a-f]{64}$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FORMATS = ("date", "date-time", "email", "file-ref")
WIDGETS = ("text", "textarea", "select", "radio", "checkboxes")
UI_OPTIONS = frozenset({"widget", "labels", "labels_en", "title_en", "description_en", "placeholder",
                        "placeholder_en", "i18n", "rows", "accept", "ui:order"})
TRUE_VALUES = frozenset({"on", "true", "1", "yes"})

_ANNOTATIONS = frozenset({"title", "description", "default", "readOnly", "examples", "$comment"})
_CHOICE = frozenset({"enum", "oneOf", "const"})
_KEYWORDS = {
    "object": frozenset({"type", "properties", "required", "additionalProperties"}),
    "string": frozenset({"type", "format", "minLength", "maxLength", "pattern"}) | _CHOICE,
    "integer": frozenset({"type", "minimum", "maximum"}) | _CHOICE,
    "number": frozenset({"type", "minimum", "maximum"}) | _CHOICE,
    "boolean": frozenset({"type", "const"}),
    "array": frozenset({"type", "items", "minItems", "maxItems", "uniqueItems"}),
}
_ROOT_ONLY = frozenset({"$schema", "$id", "$defs", "if", "then", "else", "allOf"})
_CONDITION_KEYWORDS = frozenset({"const", "enum", "minLength", "maxLength", "minimum", "maximum",
                                 "pattern", "minItems", "maxItems", "$comment"})
_CONDITIONAL_BLOCK = frozenset({"if", "then", "else", "$comment"})
_MAX_DEPTH = 12

# Variables the runtime and the chain own. A form declaring one of them would let a submission point
# the workflow at another problem or unit (mass assignment), so such a form is refused at deploy.
RESERVED_FIELDS = frozenset({"completed_by", "completed_by_name", "unit", "unit_path", "unit_code", "scope",
                             "business_key", "role", "roles", "assignee", "candidates", "actor"})


def reserved_field(name: str) -> bool:
    return name in RESERVED_FIELDS or name.startswith("_") or name.endswith(("_id", "_ids"))


@dataclass(frozen=True)
class Form:
    """A loaded form. Equal (and hashable) by key and content hash."""

    key: str
    schema: dict[str, Any] = field(compare=False, repr=False)
    ui: dict[str, Any] = field(compare=False, repr=False)
    content_hash: str


# ----------------------------------------------------------------------------- schema helpers


def resolve(root: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """``node`` with ``$ref`` chains replaced by their targets (siblings of ``$ref`` win)."""
    merged: dict[str, Any] = {}
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        merged = {**{k: v for k, v in node.items() if k != "$ref"}, **merged}
        target = _def_target(root, ref)
        if target is None or ref in seen:
            return merged
        seen.add(ref)
        node = target
    return {**node, **merged} if isinstance(node, Mapping) else merged


def _def_target(root: Mapping[str, Any], ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return None
    defs = root.get("$defs")
    name = ref[len("#/$defs/"):].replace("~1", "/").replace("~0", "~")
    return defs.get(name) if isinstance(defs, Mapping) else None


def item_kind(item: Mapping[str, Any]) -> str | None:
    """What an array holds: ``rows`` (objects), ``files`` (file-refs), ``choices`` or None."""
    typ = item.get("type")
    if typ == "object":
        return "rows"
    if typ == "string" and item.get("format") == "file-ref":
        return "files"
    if typ in ("string", "integer", "number") and ("enum" in item or "oneOf" in item):
        return "choices"
    return None


def ui_path(path: str) -> str:
    """The UI-schema key of a field path: ``measures[2].deadline`` → ``measures.deadline``."""
    return re.sub(r"\[(\d+|__INDEX__)\]", "", path)


def ui_options(form: Form, path: str) -> dict[str, Any]:
    opts = form.ui.get(ui_path(path)) if path else None
    return opts if isinstance(opts, dict) else {}


def ordered_properties(form: Form, node: Mapping[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """Resolved properties of an object node, in ``ui:order`` first, then schema order."""
    props = node.get("properties") or {}
    order = form.ui.get("ui:order") if not path else ui_options(form, path).get("ui:order")
    names = [n for n in (order or []) if n in props]
    names += [n for n in props if n not in names]
    return [(n, resolve(form.schema, props[n])) for n in names]


def walk_fields(root: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property as ``(ui path, resolved node)``, descending into objects and rows."""
    def walk(node: Mapping[str, Any], prefix: str, depth: int) -> Iterator[tuple[str, dict[str, Any]]]:
        props = node.get("properties")
        if depth > _MAX_DEPTH or not isinstance(props, Mapping):
            return
        for name, sub in props.items():
            sub = resolve(root, sub)
            path = f"{prefix}{name}"
            yield path, sub
            if sub.get("type") == "array":
                sub = resolve(root, sub.get("items"))
            if sub.get("type") == "object":
                yield from walk(sub, path + ".", depth + 1)
    return walk(root, "", 0)


def readonly_paths(form: Form) -> frozenset[str]:
    return frozenset(p for p, node in walk_fields(form.schema) if node.get("readOnly") is True)


def lang(locale: str) -> str:
    """``zh``, ``zh-CN``, ``zh_Hans_CN`` → ``zh_CN``; ``en_US`` → ``en``."""
    locale = (locale or "zh_CN").replace("-", "_")
    return "zh_CN" if locale.lower().startswith("zh") else locale.split("_")[0].lower()


def localised(zh: str, opts: Mapping[str, Any], attr: str, locale: str) -> str:
    """Text for ``attr`` (title, description, placeholder): the schema's Chinese or a UI translation."""
    language = lang(locale)
    if language == "zh_CN":
        return zh
    if language == "en" and isinstance(opts.get(f"{attr}_en"), str):
        return opts[f"{attr}_en"]
    i18n = _mapping(opts, "i18n")
    entry = i18n.get(language, i18n.get(locale))
    if isinstance(entry, str) and attr == "title":
        return entry
    if isinstance(entry, Mapping) and isinstance(entry.get(attr), str):
        return entry[attr]
    return zh


def choice_options(node: Mapping[str, Any], opts: Mapping[str, Any], locale: str) -> list[tuple[Any, str]]:
    """``(value, display label)`` for each choice of an enum / oneOf-const node."""
    if "oneOf" in node:
        pairs = [(o.get("const"), o.get("title_en") if lang(locale) == "en" and o.get("title_en")
                  else o.get("title")) for o in _list(node, "oneOf") if isinstance(o, Mapping)]
    else:
        pairs = [(v, None) for v in _list(node, "enum")]
    return [(v, _choice_label(v, title, opts, locale)) for v, title in pairs]


def _choice_label(value: Any, title: str | None, opts: Mapping[str, Any], locale: str) -> str:
    key, language = str(value), lang(locale)
    label = _mapping(opts, "labels").get(key)
    by_locale = label if isinstance(label, Mapping) else {"zh_CN": label}
    candidates = [by_locale.get(language)]
    if language == "en":
        candidates.append(_mapping(opts, "labels_en").get(key))
    candidates += [_mapping(_mapping(_mapping(opts, "i18n"), language), "labels").get(key),
                   title, by_locale.get("zh_CN"), key]
    return next(c for c in candidates if isinstance(c, str) and c)


def _mapping(container: Any, key: str) -> Mapping[str, Any]:
    value = container.get(key) if isinstance(container, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _list(container: Mapping[str, Any], key: str) -> list[Any]:
    value = container.get(key)
    return value if isinstance(value, list) else []


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# ----------------------------------------------------------------------------- loading


def load_form(data: Mapping[str, Any], key: str) -> Form:
    """Check a form file's content and return the :class:`Form`; raise DefinitionError otherwise."""
    checker = _FormChecker(f"forms/{key}.json")
    if not isinstance(data, Mapping) or not isinstance(data.get("schema"), Mapping):
        checker.add("", "a form file is an object {\"schema\": {...}, \"ui\": {...}}")
        checker.raise_if_any()
    for extra in sorted(set(data) - {"schema", "ui"}):
        checker.add("/" + extra, f"unknown top-level key '{extra}' (only 'schema' and 'ui')")
    schema, ui = copy.deepcopy(dict(data["schema"])), copy.deepcopy(data.get("ui", {}))
    checker.metaschema(schema)
    checker.schema(schema)
    checker.ui(ui)
    try:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                               allow_nan=False)
    except (TypeError, ValueError) as exc:
        checker.add("", f"not plain JSON: {exc}")
        canonical = ""
    checker.raise_if_any()
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Form(key=key, schema=schema, ui=ui if isinstance(ui, dict) else {}, content_hash=digest)


class _FormChecker:
    """Collects findings for one form file; the schema walk mirrors the supported constructs."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[dict[str, str]] = []
        self.root: dict[str, Any] = {}

    def add(self, element: str, problem: str) -> None:
        finding = {"file": self.file, "element": element, "problem": problem}
        if finding not in self.findings:
            self.findings.append(finding)

    def raise_if_any(self) -> None:
        if self.findings:
            raise DefinitionError(f"the form {self.file} cannot be deployed", self.findings)

    def metaschema(self, schema: dict[str, Any]) -> None:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError:
            meta = Draft202012Validator(Draft202012Validator.META_SCHEMA,
                                        format_checker=Draft202012Validator.FORMAT_CHECKER)
            for err in sorted(meta.iter_errors(schema), key=lambda e: [str(p) for p in e.absolute_path]):
                self.add(_pointer(err.absolute_path), f"not a valid JSON Schema: {err.message[:200]}")

    def schema(self, schema: dict[str, Any]) -> None:
        self.root = schema
        if schema.get("$schema", DIALECT) != DIALECT:
            self.add("/$schema", f"only draft 2020-12 is supported ({DIALECT})")
        if schema.get("type") != "object":
            self.add("/type", "the top level must be type: object")
        self.keywords(schema, "", _KEYWORDS["object"] | _ANNOTATIONS | _ROOT_ONLY, "the top level")
        self.object(schema, "", in_rows=False, stack=())
        for name, sub in _mapping(schema, "$defs").items():
            self.prop(sub, f"/$defs/{_pointer([name])[1:]}", in_rows=False, titled=True, stack=())
        self.conditionals(schema)

    def keywords(self, node: Mapping[str, Any], ptr: str, allowed: frozenset[str], what: str) -> None:
        for kw in node:
            if kw not in allowed:
                hint = " (conditionals only at the top level)" if kw in ("if", "then", "else") else ""
                self.add(f"{ptr}{_pointer([kw])}", f"unsupported keyword '{kw}' for {what}{hint}")

    def prop(self, node: Any, ptr: str, *, in_rows: bool, titled: bool, stack: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping):
            self.add(ptr, "must be a schema object")
            return
        if "$ref" in node:
            self.reference(node, ptr, in_rows=in_rows, titled=titled, stack=stack)
            return
        if not titled and not _has_title(node):
            self.add(ptr, "every property needs a non-empty 'title' (the Chinese label)")
        typ = node.get("type")
        if not isinstance(typ, str) or typ not in _KEYWORDS:
            self.add(f"{ptr}/type", f"'type' must be one of {', '.join(_KEYWORDS)}")
            return
        self.keywords(node, ptr, _KEYWORDS[typ] | _ANNOTATIONS, f"type {typ}")
        if typ == "object":
            self.object(node, ptr, in_rows=in_rows, stack=stack)
        elif typ == "array":
            self.array(node, ptr, in_rows=in_rows, stack=stack)
        else:
            self.scalar(node, ptr, typ)

    def reference(self, node: Mapping[str, Any], ptr: str, *, in_rows: bool, titled: bool,
                  stack: tuple[str, ...]) -> None:
        self.keywords(node, ptr, _ANNOTATIONS | {"$ref"}, "a $ref")
        target = _def_target(self.root, node["$ref"])
        if target is None:
            self.add(f"{ptr}/$ref", "only references to an existing '#/$defs/<name>' are supported")
            return
        if node["$ref"] in stack:
            self.add(f"{ptr}/$ref", "recursive $ref is not supported")
            return
        titled = titled or _has_title(resolve(self.root, node))
        if not titled:
            self.add(ptr, "every property needs a non-empty 'title' (the Chinese label)")
        target_ptr = "/$defs/" + _pointer([node["$ref"][len("#/$defs/"):]])[1:]
        self.prop(target, target_ptr, in_rows=in_rows, titled=True, stack=(*stack, node["$ref"]))

    def object(self, node: Mapping[str, Any], ptr: str, *, in_rows: bool, stack: tuple[str, ...]) -> None:
        props = node.get("properties")
        if not isinstance(props, Mapping) or not props:
            self.add(ptr or "/properties", "an object needs non-empty 'properties'")
            return
        for name, sub in props.items():
            sub_ptr = f"{ptr}/properties{_pointer([name])}"
            if not NAME.match(name):
                self.add(sub_ptr, "property names must be identifiers ([A-Za-z_][A-Za-z0-9_]*)")
            elif reserved_field(name):
                self.add(sub_ptr, f"'{name}' is a name the runtime owns (identifiers, scope, who completed a "
                                  "task); a form may not set it: rename the field")
            self.prop(sub, sub_ptr, in_rows=in_rows, titled=False, stack=stack)
        for i, name in enumerate(_list(node, "required")):
            if name not in props:
                self.add(f"{ptr}/required/{i}", f"'{name}' is not a property")
        if node.get("additionalProperties") is not False:
            self.add(f"{ptr}/additionalProperties", "every object must declare 'additionalProperties: false' "
                                                    "(a submission may set only the form's own fields)")

    def array(self, node: Mapping[str, Any], ptr: str, *, in_rows: bool, stack: tuple[str, ...]) -> None:
        items = node.get("items")
        if not isinstance(items, Mapping):
            self.add(ptr, "an array needs an 'items' schema")
            return
        kind = item_kind(resolve(self.root, items))
        if kind is None:
            self.add(f"{ptr}/items", "array items must be choices (enum/oneOf), file-refs or objects (rows)")
            return
        if kind == "rows" and in_rows:
            self.add(f"{ptr}/items", "repeating rows cannot contain further repeating rows")
        self.prop(items, f"{ptr}/items", in_rows=in_rows or kind == "rows", titled=True, stack=stack)

    def scalar(self, node: Mapping[str, Any], ptr: str, typ: str) -> None:
        if "format" in node and node["format"] not in FORMATS:
            self.add(f"{ptr}/format", f"unsupported format '{node['format']}' (use {', '.join(FORMATS)})")
        if "enum" in node and "oneOf" in node:
            self.add(ptr, "use either 'enum' or 'oneOf', not both")
        for i, value in enumerate(_list(node, "enum")):
            if not _matches(value, typ):
                self.add(f"{ptr}/enum/{i}", f"{value!r} is not of type {typ}")
        for i, option in enumerate(_list(node, "oneOf")):
            if (not isinstance(option, Mapping) or "const" not in option or not _has_title(option)
                    or set(option) - {"const", "title", "title_en", "description"}):
                self.add(f"{ptr}/oneOf/{i}", "oneOf options must be {\"const\": ..., \"title\": ...}")
            elif not _matches(option["const"], typ):
                self.add(f"{ptr}/oneOf/{i}/const", f"{option['const']!r} is not of type {typ}")

    def conditionals(self, schema: Mapping[str, Any]) -> None:
        blocks = [("", schema)] if any(k in schema for k in ("if", "then", "else")) else []
        for i, sub in enumerate(_list(schema, "allOf")):
            if not isinstance(sub, Mapping) or "if" not in sub or set(sub) - _CONDITIONAL_BLOCK:
                self.add(f"/allOf/{i}", "allOf may only hold if/then/else blocks")
            else:
                blocks.append((f"/allOf/{i}", sub))
        for ptr, block in blocks:
            if "if" not in block:
                self.add(ptr + "/if", "'then'/'else' need an 'if'")
            for kw in ("if", "then", "else"):
                if kw in block:
                    self.branch(block[kw], f"{ptr}/{kw}")

    def branch(self, sub: Any, ptr: str) -> None:
        props = self.root.get("properties") or {}
        if not isinstance(sub, Mapping):
            self.add(ptr, "a condition must be a schema object")
            return
        self.keywords(sub, ptr, frozenset({"properties", "required", "$comment"}), "a condition")
        for name, cond in _mapping(sub, "properties").items():
            sub_ptr = f"{ptr}/properties{_pointer([name])}"
            if name not in props:
                self.add(sub_ptr, f"'{name}' is not a top-level property")
            elif isinstance(cond, Mapping):
                self.keywords(cond, sub_ptr, _CONDITION_KEYWORDS, "a condition on a property")
        for i, name in enumerate(_list(sub, "required")):
            if name not in props:
                self.add(f"{ptr}/required/{i}", f"'{name}' is not a top-level property")

    def ui(self, ui: Any) -> None:
        if not isinstance(ui, Mapping):
            self.add("/ui", "'ui' must be an object")
            return
        nodes = dict(walk_fields(self.root))
        for key, opts in ui.items():
            ptr = "/ui" + _pointer([key])
            if key == "ui:order":
                self.order(opts, self.root, ptr)
            elif key not in nodes:
                self.add(ptr, f"'{key}' is not a property of the schema")
            elif not isinstance(opts, Mapping):
                self.add(ptr, "UI options must be an object")
            else:
                self.ui_options(opts, nodes[key], ptr)

    def order(self, order: Any, node: Mapping[str, Any], ptr: str) -> None:
        props = resolve(self.root, node.get("items")) if node.get("type") == "array" else node
        names = props.get("properties") or {}
        if not isinstance(order, list):
            self.add(ptr, "ui:order must be a list of property names")
            return
        for i, name in enumerate(order):
            if name not in names:
                self.add(f"{ptr}/{i}", f"'{name}' is not a property here")

    def ui_options(self, opts: Mapping[str, Any], node: Mapping[str, Any], ptr: str) -> None:
        for name in opts:
            if name not in UI_OPTIONS:
                self.add(f"{ptr}{_pointer([name])}", f"unknown UI option '{name}'")
        choices = resolve(self.root, node.get("items")) if node.get("type") == "array" else node
        widget = opts.get("widget")
        fits = {"text": node.get("type") in ("string", "integer", "number") and "enum" not in node,
                "textarea": node.get("type") == "string" and not _CHOICE & set(node),
                "select": "enum" in node or "oneOf" in node, "radio": "enum" in node or "oneOf" in node,
                "checkboxes": node.get("type") == "array" and item_kind(choices) == "choices"}
        if widget is not None and not (isinstance(widget, str) and fits.get(widget, False)):
            self.add(f"{ptr}/widget", f"widget must be one of {', '.join(WIDGETS)} and fit the field's type")
        valid = {str(v) for v, _ in choice_options(choices, {}, "zh_CN")}
        for labels_key in ("labels", "labels_en"):
            labels = opts.get(labels_key, {})
            if not isinstance(labels, Mapping):
                self.add(f"{ptr}/{labels_key}", "labels must map choice values to text")
                continue
            for value in labels:
                if value not in valid:
                    self.add(f"{ptr}/{labels_key}{_pointer([value])}", f"'{value}' is not one of the choices")
        if "ui:order" in opts:
            self.order(opts["ui:order"], node, f"{ptr}/ui:order")


def _has_title(node: Mapping[str, Any]) -> bool:
    return isinstance(node.get("title"), str) and bool(node["title"].strip())


def _matches(value: Any, typ: str) -> bool:
    if isinstance(value, bool):
        return typ == "boolean"
    return {"string": isinstance(value, str), "integer": isinstance(value, int),
            "number": isinstance(value, (int, float))}.get(typ, False)


# ----------------------------------------------------------------------------- coercion

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


# ----------------------------------------------------------------------------- validation

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


TYPE_NAMES = {
    "string": {"zh_CN": "文本", "en": "text"},
    "integer": {"zh_CN": "整数", "en": "a whole number"},
    "number": {"zh_CN": "数字", "en": "a number"},
    "boolean": {"zh_CN": "是/否", "en": "yes/no"},
    "array": {"zh_CN": "列表", "en": "a list"},
    "object": {"zh_CN": "一组字段", "en": "a group of fields"},
    "null": {"zh_CN": "空值", "en": "empty"},
}

FORM_MESSAGES: dict[str, dict[str, str]] = {
    "required": {"zh_CN": "此项为必填项", "en": "This field is required"},
    "if_then_required": {"zh_CN": "根据所填内容，此项为必填项",
                         "en": "This field is required given your other answers"},
    "minLength": {"zh_CN": "不能少于 {limit} 个字符", "en": "Enter at least {limit} characters"},
    "maxLength": {"zh_CN": "不能超过 {limit} 个字符", "en": "Enter at most {limit} characters"},
    "minimum": {"zh_CN": "不能小于 {limit}", "en": "Must be at least {limit}"},
    "maximum": {"zh_CN": "不能大于 {limit}", "en": "Must be at most {limit}"},
    "type": {"zh_CN": "格式不正确，应为{expected}", "en": "Invalid value: expected {expected}"},
    "enum": {"zh_CN": "请从选项中选择", "en": "Please choose one of the options"},
    "const": {"zh_CN": "取值不符合要求", "en": "This value is not allowed"},
    "pattern": {"zh_CN": "格式不符合要求", "en": "The format is not valid"},
    "format_date": {"zh_CN": "请输入有效日期（YYYY-MM-DD）", "en": "Enter a valid date (YYYY-MM-DD)"},
    "format_date_time": {"zh_CN": "请输入有效的日期时间", "en": "Enter a valid date and time"},
    "format_email": {"zh_CN": "请输入有效的电子邮箱地址", "en": "Enter a valid email address"},
    "format_file_ref": {"zh_CN": "文件无效，请重新上传", "en": "Invalid file, please upload it again"},
    "minItems": {"zh_CN": "至少需要 {limit} 项", "en": "Add at least {limit} item(s)"},
    "maxItems": {"zh_CN": "最多 {limit} 项", "en": "Add at most {limit} item(s)"},
    "uniqueItems": {"zh_CN": "不能有重复项", "en": "Items must not repeat"},
    "additionalProperties": {"zh_CN": "包含未定义的字段", "en": "Contains unknown fields"},
    "invalid": {"zh_CN": "内容无效", "en": "Invalid value"},
    "unknown_field": {"zh_CN": "表单中没有字段“{name}”", "en": "The form has no field '{name}'"},
    "no_form": {"zh_CN": "此任务没有表单，不能提交字段“{name}”", "en": "This task has no form; '{name}' cannot be set"},
}


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


def render_message(key: str, params: Mapping[str, Any], locale: str = "zh_CN") -> str:
    table = FORM_MESSAGES.get(key, FORM_MESSAGES["invalid"])
    language = lang(locale)
    template = table.get(language) or table["en"]
    values = dict(params)
    if "expected" in values:
        names = TYPE_NAMES.get(str(values["expected"]), {})
        values["expected"] = names.get(language) or names.get("en") or values["expected"]
    return template.format(**values)


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


def unknown_fields(form: Form | None, data: Any, locale: str = "zh_CN") -> dict[str, list[str]]:
    """Only the keys ``data`` holds that the form does not declare (a draft may be incomplete, but it may
    not carry anything else). Without a form every key is unknown."""
    if not isinstance(data, Mapping):
        return {"": [render_message("type", {"expected": "object"}, locale)]}
    if form is None:
        return {str(k): [render_message("no_form", {"name": k}, locale)] for k in sorted(data, key=str)}
    found: dict[str, list[str]] = {}
    for error in _validator(form).iter_errors(data):
        if error.validator == "additionalProperties":
            for path, (key, params) in _unknown_field_messages(error):
                found.setdefault(path, []).append(render_message(key, params, locale))
    return found


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


def validate_submission(form: Form, data: Any, locale: str = "zh_CN") -> dict[str, list[str]]:
    """Rendered error messages per field path; empty when ``data`` is valid."""
    return {path: [render_message(k, p, locale) for k, p in messages]
            for path, messages in collect_errors(form, data).items()}
