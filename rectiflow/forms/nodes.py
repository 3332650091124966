"""A loaded form (:class:`Form`) and the helpers that read its schema and UI schema: ``$ref`` resolution,
field paths, ordering, and the labels shown in the reader's language."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

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
