"""Formatting helpers and the template globals that render stored codes through the one vocabulary
(:mod:`rectiflow.domain.vocab`): a page, an export and a mail show the same label for the same code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from rectiflow.clock import BUSINESS_TZ
from rectiflow.domain import vocab

# Labels of the case data a task carries (rectiflow.services.workflow.projections.CONTEXT_KEYS); ids are links.
# These name fields of a task's context, not stored codes, so they are the web edge's own.
CONTEXT_LABELS = {
    "round_title": _l("Inspection round"),
    "problem_number": _l("Problem number"),
    "problem_title": _l("Problem"),
    "unit_name": _l("Unit"),
    "department_name": _l("Responsible department"),
}


def _locale() -> str:
    from webapp.i18n import current_locale

    return current_locale()


def labeller(vocabulary: type[vocab.Vocabulary]) -> Callable[[str | None], str]:
    """``code → label`` in the current request's language."""
    return lambda code: vocabulary.label_of(code, _locale())


def labels_of(vocabulary: type[vocab.Vocabulary]) -> dict[str, str]:
    """``{code: label}`` in the current request's language, in the vocabulary's order."""
    return vocabulary.labels(_locale())


def localdt(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone(BUSINESS_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0):  # a deadline: the end of the day before
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


TEMPLATE_LABELLERS: dict[str, type[vocab.Vocabulary]] = {
    "task_status": vocab.TaskStatus,
    "instance_status": vocab.InstanceStatus,
    "timer_status": vocab.TimerStatus,
    "problem_status": vocab.ProblemStatus,
    "measure_status": vocab.MeasureStatus,
    "colour_label": vocab.WarningColour,
    "notice_kind": vocab.NoticeKind,
    "round_status": vocab.RoundStatus,
    "report_kind": vocab.ReportKind,
    "report_status": vocab.ReportStatus,
    "deadline_type": vocab.DeadlineType,
    "supervision_status": vocab.SupervisionStatus,
    "acceptance_step": vocab.AcceptanceStep,
    "acceptance_decision": vocab.AcceptanceDecision,
    "extension_kind": vocab.ExtensionKind,
    "extension_status": vocab.ExtensionStatus,
    "grade_label": vocab.EvaluationGrade,
    "accountability_trigger": vocab.AccountabilityTrigger,
    "accountability_status": vocab.AccountabilityStatus,
    "accountability_outcome": vocab.AccountabilityOutcome,
    "lead_receiver": vocab.LeadReceiver,
    "lead_status": vocab.LeadStatus,
    "job_status": vocab.JobStatus,
    "delivery_status": vocab.DeliveryStatus,
    "delivery_channel": vocab.DeliveryChannel,
    "unit_kind": vocab.UnitKind,
}


def template_globals() -> dict[str, Callable[..., Any]]:
    return {name: labeller(v) for name, v in TEMPLATE_LABELLERS.items()}
