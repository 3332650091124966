"""Labels for error parameters that are codes.

An error names a status or a role by its code (``task_status="completed"``); the reader should see the
label ("已办结" / "Completed"). The parameter's name says which vocabulary the code belongs to, because
one code can mean different things ("closed" is a problem's, a round's and a case's status).
"""

from __future__ import annotations

from typing import Any

from rectiflow.domain import vocab

PARAM_VOCABULARIES: dict[str, type[vocab.Vocabulary]] = {
    "task_status": vocab.TaskStatus,
    "instance_status": vocab.InstanceStatus,
    "target_status": vocab.InstanceStatus,
    "incident_status": vocab.IncidentStatus,
    "delivery_status": vocab.DeliveryStatus,
    "extension_status": vocab.ExtensionStatus,
    "accountability_status": vocab.AccountabilityStatus,
    "steps": vocab.AcceptanceStep,
    "role": vocab.Role,
    "roles": vocab.Role,
}


def code_label(name: str, value: Any, locale: str) -> str | None:
    """The label of ``value`` when parameter ``name`` holds a code of a known vocabulary, else None."""
    vocabulary = PARAM_VOCABULARIES.get(name)
    if vocabulary is None or not isinstance(value, str):
        return None
    return vocabulary.label_of(value, locale)
