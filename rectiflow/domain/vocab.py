"""The one vocabulary: every code stored in the database or shown to people, with its label.

Each vocabulary is a :class:`Vocabulary` (a ``StrEnum``): a member *is* its code (``ProblemStatus.CLOSED
== "closed"``), so rows, JSON, process data and SQL keep plain strings and no stored value changed when
these enums replaced the literals. Each member also carries the message id of its label (English, marked
with ``N_`` and translated to Chinese in the one catalogue); :func:`label` renders it for a reader.

The database refuses codes outside these enums: the models declare ``CHECK (col IN (...))`` built by
:func:`check_in`, and migration 0006 adds the same constraints to existing databases. Adding a member
therefore needs a migration that replaces the constraint.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from rectiflow.i18n import N_, translate


class Vocabulary(StrEnum):
    """A code with the message id of its label; members are declared as ``NAME = "code", N_("Label")``."""

    msgid: str

    # ``msgid`` has a default only so that a lookup, ``ProblemStatus("closed")``, type-checks: the enum
    # machinery answers a one-argument call by value and never reaches ``__new__`` with it.
    def __new__(cls, code: str, msgid: str = "") -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.msgid = msgid
        return member

    def label(self, locale: str | None = None) -> str:
        return translate(locale, self.msgid)

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)

    @classmethod
    def label_of(cls, code: str | None, locale: str | None = None) -> str:
        """The label of ``code``; a code this vocabulary does not know is shown as it is (never a 500)."""
        if code is None:
            return ""
        try:
            return cls(code).label(locale)
        except ValueError:
            return str(code)

    @classmethod
    def labels(cls, locale: str | None = None) -> dict[str, str]:
        """``{code: label}`` in declaration order (the order lists and summaries show)."""
        return {m.value: m.label(locale) for m in cls}


# ---------------------------------------------------------------------------- the rectification chain


class ProblemStatus(Vocabulary):
    NOT_STARTED = "not_started", N_("Not started")
    RECTIFYING = "rectifying", N_("Under rectification")
    AWAITING_ACCEPTANCE = "awaiting_acceptance", N_("Done, awaiting acceptance")
    IN_ACCEPTANCE = "in_acceptance", N_("In acceptance")
    CLOSED = "closed", N_("Closed (signed off)")
    ONGOING = "ongoing", N_("Phase done, ongoing")
    EXTENSION_PENDING = "extension_pending", N_("Extension under approval")
    RETURNED = "returned", N_("Returned for rework")


class MeasureStatus(Vocabulary):
    NOT_STARTED = "not_started", N_("Not started")
    RECTIFYING = "rectifying", N_("Under rectification")
    DONE = "done", N_("Done, awaiting acceptance")
    ACCEPTED = "accepted", N_("Closed (signed off)")
    ONGOING = "ongoing", N_("Phase done, ongoing")


class WarningColour(Vocabulary):
    """三色预警 of a problem or measure (``rectiflow.domain.deadlines.colour``)."""

    NONE = "none", N_("No warning")
    GREEN = "green", N_("Green warning")
    YELLOW = "yellow", N_("Yellow warning")
    RED = "red", N_("Red: overdue")


class ScheduleFlag(Vocabulary):
    """按序时推进 / 滞后 / 超期 of a measure (``rectiflow.domain.deadlines.schedule_flag``)."""

    ON_TRACK = "on_track", N_("On schedule")
    LAGGING = "lagging", N_("Lagging behind")
    OVERDUE = "overdue", N_("Overdue")


class DeadlineType(Vocabulary):
    IMMEDIATE = "immediate", N_("Immediate rectification")
    BY_DATE = "by_date", N_("Complete by a deadline")
    BY_DATE_THEN_ONGOING = "by_date_then_ongoing", N_("By a deadline, then ongoing")
    ONGOING = "ongoing", N_("Long-term, ongoing")


class RoundStatus(Vocabulary):
    FEEDBACK = "feedback", N_("Feedback issued")
    PLANNING = "planning", N_("Drafting the plan")
    RECTIFYING = "rectifying", N_("Rectifying")
    CLOSED = "closed", N_("Completed")


class AcceptanceStep(Vocabulary):
    """The five steps of 验收销号, in the order they are taken."""

    APPLY = "apply", N_("Application for acceptance")
    VERIFY = "verify", N_("Verification of the evidence")
    HIGHER_OPINION = "higher_opinion", N_("Opinion of the higher business department")
    DECISION_MEETING = "decision_meeting", N_("Decision meeting of the Party organisation")
    SIGN_OFF = "sign_off", N_("Sign-off by the leading group")


class AcceptanceDecision(Vocabulary):
    SUBMIT = "submit", N_("Submit")
    APPROVE = "approve", N_("Agree")
    RETURN = "return", N_("Send back")


class ReportKind(Vocabulary):
    """Statutory report milestones of a round (整改情况报告机制)."""

    PLAN = "plan", N_("Rectification plan")
    RECTIFICATION_REPORT = "rectification_report", N_("Rectification report (3 months)")
    LEADER_REPORT = "leader_report", N_("Principal leader's implementation report")
    PHASED_REPORT = "phased_report", N_("Phased report (6 months)")
    ANNUAL_REPORT = "annual_report", N_("Annual report")


class ReportStatus(Vocabulary):
    PENDING = "pending", N_("Not yet submitted")
    SUBMITTED = "submitted", N_("Submitted")
    ACCEPTED = "accepted", N_("Accepted")
    OVERDUE = "overdue", N_("Overdue")


class SupervisionStatus(Vocabulary):
    PROPOSED = "proposed", N_("Proposed for supervision")
    ACTIVE = "active", N_("Under supervision")
    REMOVED = "removed", N_("Supervision removed")
    DECLINED = "declined", N_("Supervision declined")


class ExtensionKind(Vocabulary):
    EXTENSION = "extension", N_("Extension of the deadline")
    LONG_TERM = "long_term", N_("Long-term, ongoing")


class ExtensionStatus(Vocabulary):
    PENDING = "pending", N_("Awaiting approval")
    APPROVED = "approved", N_("Granted")
    REJECTED = "rejected", N_("Not granted")


class EvaluationGrade(Vocabulary):
    EXCELLENT = "excellent", N_("Excellent")
    GOOD = "good", N_("Good")
    FAIR = "fair", N_("Fair")
    POOR = "poor", N_("Poor")


class AccountabilityTrigger(Vocabulary):
    REPEATEDLY_OVERDUE = "repeatedly_overdue", N_("Repeatedly overdue")
    POOR_EVALUATION = "poor_evaluation", N_("Poor assessment")
    MANUAL = "manual", N_("Started by the discipline committee")


class AccountabilityStatus(Vocabulary):
    OPEN = "open", N_("In progress")
    CLOSED = "closed", N_("Concluded")


class AccountabilityOutcome(Vocabulary):
    """How a case ended; empty while it is open."""

    TALK = "talk", N_("Accountability talk")
    EXPLANATION = "explanation", N_("Written explanation")
    CIRCULAR = "circular", N_("Circulated criticism")


class LeadReceiver(Vocabulary):
    DISCIPLINE_COMMITTEE = "discipline_committee", N_("Discipline inspection and supervision")
    ORGANISATION_DEPARTMENT = "organisation_department", N_("Organisation department")
    OTHER = "other", N_("Other department")


class LeadStatus(Vocabulary):
    REFERRED = "referred", N_("Handed over")
    VERIFYING = "verifying", N_("Being verified")
    CONCLUDED = "concluded", N_("Concluded")


class NoticeKind(Vocabulary):
    """Kinds the system sends. Not enforced by the database: a process diagram may name its own kind,
    which is then shown by its code."""

    WARNING_GREEN = "warning_green", N_("Green warning")
    WARNING_YELLOW = "warning_yellow", N_("Yellow warning")
    WARNING_RED = "warning_red", N_("Red warning")
    SUPERVISION = "supervision", N_("Listed supervision")
    REMINDER = "reminder", N_("Reminder")
    ADMONITION = "admonition", N_("Admonition")
    REPORT_DUE = "report_due", N_("Report due")
    ROUND_ISSUED = "round_issued", N_("Inspection feedback issued")

    @classmethod
    def warning(cls, colour: str) -> NoticeKind:
        """The notice kind of a warning colour (green → ``warning_green``)."""
        return cls(f"warning_{WarningColour(colour).value}")


# ---------------------------------------------------------------------------- the runtime


class InstanceStatus(Vocabulary):
    RUNNING = "running", N_("Running")
    COMPLETED = "completed", N_("Completed")
    SUSPENDED = "suspended", N_("Suspended")
    TERMINATED = "terminated", N_("Terminated")
    ERROR = "error", N_("Error")


class TaskStatus(Vocabulary):
    READY = "ready", N_("Waiting")
    COMPLETED = "completed", N_("Completed")
    CANCELLED = "cancelled", N_("Cancelled")


class TimerStatus(Vocabulary):
    WAITING = "waiting", N_("Timer set")
    FIRED = "fired", N_("Fired")
    CANCELLED = "cancelled", N_("Cancelled")


class JobStatus(Vocabulary):
    QUEUED = "queued", N_("Queued")
    RUNNING = "running", N_("Running")
    DONE = "done", N_("Done")
    FAILED = "failed", N_("Failed")
    CANCELLED = "cancelled", N_("Cancelled")


class IncidentKind(Vocabulary):
    JOB = "job", N_("Background job")
    ENGINE = "engine", N_("Process engine")


class IncidentStatus(Vocabulary):
    OPEN = "open", N_("Unresolved")
    RESOLVED = "resolved", N_("Resolved")


class DeliveryStatus(Vocabulary):
    PENDING = "pending", N_("Pending")
    SENT = "sent", N_("Sent")
    DEAD = "dead", N_("Dead")


class DeliveryChannel(Vocabulary):
    """A webhook in the robots' own message formats is its own channel: the worker shapes the payload by it."""

    EMAIL = "email", N_("Email")
    WEBHOOK = "webhook", N_("Webhook")
    WECOM = "wecom", N_("WeCom robot")
    DINGTALK = "dingtalk", N_("DingTalk robot")


# ---------------------------------------------------------------------------- the organisation


class UnitKind(Vocabulary):
    GROUP = "group", N_("Group")
    ENTERPRISE = "enterprise", N_("Enterprise")
    DEPARTMENT = "department", N_("Department")


class Role(Vocabulary):
    """责任体系. Lane ids in the diagrams name these codes; assignments scope them to a unit."""

    INSPECTION_OFFICE = "inspection_office", N_("Inspection office")
    LEADING_GROUP = "leading_group", N_("Inspection leading group")
    PARTY_COMMITTEE = "party_committee", N_("Inspected Party organisation")
    PRINCIPAL_LEADER = "principal_leader", N_("Principal leader")
    LEADERSHIP_MEMBER = "leadership_member", N_("Leadership team member")
    RECTIFICATION_OFFICE = "rectification_office", N_("Unit rectification office")
    RESPONSIBLE_DEPARTMENT = "responsible_department", N_("Department responsible for rectification")
    DISCIPLINE_COMMITTEE = "discipline_committee", N_("Discipline committee")
    SUPERVISION_DEPARTMENT = "supervision_department", N_("Discipline / organisation department")
    FUNCTIONAL_DEPARTMENT = "functional_department", N_("Competent functional department")
    PROCESS_DESIGNER = "process_designer", N_("Workflow designer")
    ADMIN = "admin", N_("Administrator")


VOCABULARIES: tuple[type[Vocabulary], ...] = tuple(Vocabulary.__subclasses__())


def label(value: str | None, locale: str | None = None, vocabulary: type[Vocabulary] | None = None) -> str:
    """The label of a member, or of a plain code looked up in ``vocabulary``.

    A plain code without a vocabulary is accepted only when exactly one vocabulary has it ("closed" is
    a problem's, a round's and a case's status, with different labels); an unknown code is returned as
    it is, so a page never fails on an odd row.
    """
    if isinstance(value, Vocabulary):
        return value.label(locale)
    if value is None:
        return ""
    if vocabulary is not None:
        return vocabulary.label_of(value, locale)
    owners = {v(value).msgid for v in VOCABULARIES if value in v.codes()}
    if len(owners) > 1:
        raise ValueError(f"code {value!r} is in several vocabularies with different labels: name the vocabulary")
    return translate(locale, owners.pop()) if owners else str(value)


def sql_literal(code: str) -> str:
    return "'" + code.replace("'", "''") + "'"


def check_in(column: str, vocabulary: type[Vocabulary], *, allow_empty: bool = False) -> str:
    """``column IN ('a', 'b', ...)`` for a CHECK constraint: the models and migration 0006 both use it."""
    codes = ([""] if allow_empty else []) + list(vocabulary.codes())
    return f"{column} IN ({', '.join(sql_literal(c) for c in codes)})"
