"""Form validation messages: a key per kind of error (``required``, ``maxLength``…) → a catalogue message id.

The English text is the msgid and the Chinese text lives in the one catalogue
(``rectiflow/translations``), like every other message; :func:`message` gives the
:class:`~rectiflow.i18n.Message` the edge renders, :func:`render_message` the text in a locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rectiflow.forms.nodes import lang
from rectiflow.i18n import N_, Message

# A JSON type named in "expected …" messages.
TYPE_NAMES: dict[str, str] = {
    "string": N_("text"),
    "integer": N_("a whole number"),
    "number": N_("a number"),
    "boolean": N_("yes/no"),
    "array": N_("a list"),
    "object": N_("a group of fields"),
    "null": N_("empty"),
}

FORM_MESSAGES: dict[str, str] = {
    "required": N_("This field is required"),
    "if_then_required": N_("This field is required given your other answers"),
    "minLength": N_("Enter at least %(limit)s characters"),
    "maxLength": N_("Enter at most %(limit)s characters"),
    "minimum": N_("Must be at least %(limit)s"),
    "maximum": N_("Must be at most %(limit)s"),
    "type": N_("Invalid value: expected %(expected)s"),
    "enum": N_("Please choose one of the options"),
    "const": N_("This value is not allowed"),
    "pattern": N_("The format is not valid"),
    "format_date": N_("Enter a valid date (YYYY-MM-DD)"),
    "format_date_time": N_("Enter a valid date and time"),
    "format_email": N_("Enter a valid email address"),
    "format_file_ref": N_("Invalid file, please upload it again"),
    "minItems": N_("Add at least %(limit)s item(s)"),
    "maxItems": N_("Add at most %(limit)s item(s)"),
    "uniqueItems": N_("Items must not repeat"),
    "additionalProperties": N_("Contains unknown fields"),
    "invalid": N_("Invalid value"),
    "unknown_field": N_("The form has no field '%(name)s'"),
    "no_form": N_("This task has no form; '%(name)s' cannot be set"),
}


def message(key: str, params: Mapping[str, Any]) -> Message:
    """The message of one validation finding; an unknown key is the generic "Invalid value"."""
    values = dict(params)
    if "expected" in values:  # a JSON type name is itself translated
        expected = str(values["expected"])
        values["expected"] = Message(TYPE_NAMES[expected]) if expected in TYPE_NAMES else expected
    return Message(FORM_MESSAGES.get(key, FORM_MESSAGES["invalid"]), **values)


def form_locale(locale: str) -> str:
    """The locale form messages are shown in: Chinese, or English for any other language (as a form's
    labels fall back to their English translations, not to the default locale)."""
    return "zh_CN" if lang(locale) == "zh_CN" else "en"


def render_message(key: str, params: Mapping[str, Any], locale: str = "zh_CN") -> str:
    return message(key, params).render(form_locale(locale))



