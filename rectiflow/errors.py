"""Domain errors raised by the core and mapped to HTTP in one place (``webapp.errors``).

Each carries a message key (translated at the edge) and structured details, so the web app and the
CLI can say precisely what is wrong without parsing strings.
"""

from __future__ import annotations

from typing import Any


class RectiflowError(Exception):
    """Base class: a failure the caller can act on (never a bug)."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotFound(RectiflowError):
    code = "not_found"


class Forbidden(RectiflowError):
    code = "forbidden"


class Conflict(RectiflowError):
    """The thing changed meanwhile (stale version) or is not in a state that allows the action."""

    code = "conflict"


class InvalidInput(RectiflowError):
    """User input that fails validation. ``errors`` maps a field path to its messages."""

    code = "invalid"

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.errors = errors or {}


class InvalidFormData(InvalidInput):
    code = "invalid_form"


class DefinitionError(RectiflowError):
    """A diagram, DMN table or form that cannot be deployed. ``findings`` name file, element and problem."""

    code = "invalid_definition"

    def __init__(self, message: str, findings: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.findings = findings or []

    def __str__(self) -> str:
        lines = [self.message]
        for f in self.findings:
            where = ":".join(x for x in (f.get("file", ""), f.get("element", "")) if x)
            lines.append(f"  {where}: {f.get('problem', '')}" if where else f"  {f.get('problem', '')}")
        return "\n".join(lines)


class ConfigurationError(RectiflowError):
    code = "configuration"
