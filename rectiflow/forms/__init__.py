"""Task forms: a JSON Schema (draft 2020-12) plus a UI schema, loaded, coerced and validated here.

A form file ``forms/<key>.json`` is ``{"schema": {...}, "ui": {...}}``. The web layer renders it as
plain HTML (``webapp.forms_render``); the server always validates what comes back:

    form = load_form(json.load(f), key)              # DefinitionError with findings if unusable
    data = coerce_submission(form, request.form.to_dict(flat=False))
    errors = validate_submission(form, data, locale)  # {"measures[1].deadline": ["请输入有效日期…"]}

Modules: :mod:`~rectiflow.forms.nodes` (the :class:`Form` and schema helpers),
:mod:`~rectiflow.forms.schema` (loading and checking), :mod:`~rectiflow.forms.coerce`,
:mod:`~rectiflow.forms.validate` and :mod:`~rectiflow.forms.messages` (message ids in the one catalogue);
this package re-exports their public names.

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

from rectiflow.forms.coerce import coerce_submission
from rectiflow.forms.messages import FORM_MESSAGES, TYPE_NAMES, message, render_message
from rectiflow.forms.nodes import (
    DIALECT,
    FILE_REF,
    FORMATS,
    NAME,
    RESERVED_FIELDS,
    TRUE_VALUES,
    UI_OPTIONS,
    WIDGETS,
    Form,
    choice_options,
    item_kind,
    lang,
    localised,
    ordered_properties,
    readonly_paths,
    reserved_field,
    resolve,
    ui_options,
    ui_path,
    walk_fields,
)
from rectiflow.forms.schema import load_form
from rectiflow.forms.validate import (
    FORMAT_CHECKER,
    collect_errors,
    drop_readonly,
    error_paths,
    field_path,
    message_for,
    submission_errors,
    unknown_field_errors,
    unknown_fields,
    validate_submission,
)

__all__ = [
    "DIALECT", "FILE_REF", "FORMATS", "FORMAT_CHECKER", "FORM_MESSAGES", "NAME", "RESERVED_FIELDS", "TRUE_VALUES",
    "TYPE_NAMES", "UI_OPTIONS", "WIDGETS", "Form", "choice_options", "coerce_submission", "collect_errors",
    "drop_readonly", "error_paths", "field_path", "item_kind", "lang", "load_form", "localised", "message",
    "message_for", "ordered_properties", "readonly_paths", "render_message", "reserved_field", "resolve",
    "submission_errors", "ui_options", "ui_path", "unknown_field_errors", "unknown_fields", "validate_submission",
    "walk_fields",
]
