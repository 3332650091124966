"""Loading a form file: every construct the schema and the UI schema use is checked at deploy time, and
what is not supported becomes a finding (file, JSON pointer, problem) of a :class:`DefinitionError`.

Findings are diagnostics for process designers (English, naming schema pointers)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from rectiflow.errors import DefinitionError
from rectiflow.forms.nodes import (
    _ANNOTATIONS,
    _CHOICE,
    _CONDITION_KEYWORDS,
    _CONDITIONAL_BLOCK,
    _KEYWORDS,
    _ROOT_ONLY,
    DIALECT,
    FORMATS,
    NAME,
    UI_OPTIONS,
    WIDGETS,
    Form,
    _def_target,
    _list,
    _mapping,
    _pointer,
    choice_options,
    item_kind,
    reserved_field,
    resolve,
    walk_fields,
)
from rectiflow.i18n import N_


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
            raise DefinitionError(N_("The form %(file)s cannot be deployed."), self.findings, file=self.file)

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
