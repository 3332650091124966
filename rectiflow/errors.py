"""Domain errors raised by the core and mapped to HTTP in one place (``webapp.errors``).

An error carries a message id (an English msgid marked with ``N_``) and named parameters, never prose:

    raise Conflict(N_("This task is already %(task_status)s."), task_status=task.status)

The edge renders it in the reader's language (``exc.render(locale)``: pages and the API in the request's
locale, the CLI in the default locale); ``str(exc)`` is the English rendering, for logs. Parameters also
serve as structured details (``exc.details["code"]``) so callers can act without parsing text. Field
messages of :class:`InvalidInput` are :class:`~rectiflow.i18n.Message` objects rendered the same way.
"""

from __future__ import annotations

from typing import Any

from rectiflow.error_params import code_label
from rectiflow.i18n import LabelFn, Message, render_all, translate

FieldMessages = dict[str, list[Any]]  # field path → Message (or text already rendered in the caller's locale)


class RectiflowError(Exception):
    """Base class: a failure the caller can act on (never a bug)."""

    code = "error"

    def __init__(self, msgid: str, /, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    @property
    def details(self) -> dict[str, Any]:
        """The parameters, read as structured details (a ``code`` naming the case, ids, limits)."""
        return self.params

    @property
    def message(self) -> str:
        """English rendering (the msgid with its parameters): for logs, never shown to a Chinese user."""
        return self.render("en")

    def render(self, locale: str | None, labels: LabelFn | None = None) -> str:
        """The message in ``locale``; codes among the parameters (statuses, roles) shown by their labels."""
        return translate(locale, self.msgid, self.params, labels=labels or code_label)

    def __str__(self) -> str:
        # For logs and incidents: a ``detail`` parameter (the engine's own words) is never shown to a
        # reader, but an administrator reading the log needs it.
        detail = self.params.get("detail")
        return f"{self.message} ({detail})" if detail else self.message


class NotFound(RectiflowError):
    code = "not_found"


class Forbidden(RectiflowError):
    code = "forbidden"


class Conflict(RectiflowError):
    """The thing changed meanwhile (stale version) or is not in a state that allows the action."""

    code = "conflict"


class InvalidInput(RectiflowError):
    """User input that fails validation. ``errors`` maps a field path to its messages (``Message``s)."""

    code = "invalid"

    def __init__(self, msgid: str, /, errors: FieldMessages | None = None, **params: Any) -> None:
        super().__init__(msgid, **params)
        self.errors: FieldMessages = errors or {}

    def render_errors(self, locale: str | None, labels: LabelFn | None = None) -> dict[str, list[str]]:
        return render_all(self.errors, locale, labels or code_label)


class InvalidFormData(InvalidInput):
    code = "invalid_form"


class DefinitionError(RectiflowError):
    """A diagram, DMN table or form that cannot be deployed. ``findings`` name file, element and problem.

    Findings are diagnostics for process designers (technical English naming BPMN elements and schema
    pointers); the message itself is a msgid like any other error's."""

    code = "invalid_definition"

    def __init__(self, msgid: str, /, findings: list[dict[str, str]] | None = None, **params: Any) -> None:
        super().__init__(msgid, **params)
        self.findings = findings or []

    def __str__(self) -> str:
        lines = [self.message]
        for f in self.findings:
            where = ":".join(x for x in (f.get("file", ""), f.get("element", "")) if x)
            lines.append(f"  {where}: {f.get('problem', '')}" if where else f"  {f.get('problem', '')}")
        return "\n".join(lines)


class ConfigurationError(RectiflowError):
    code = "configuration"


__all__ = ["Conflict", "ConfigurationError", "DefinitionError", "FieldMessages", "Forbidden", "InvalidFormData",
           "InvalidInput", "Message", "NotFound", "RectiflowError"]
