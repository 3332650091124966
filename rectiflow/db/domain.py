"""The records the offices keep: rounds, problems, measures and everything hanging off them.

Enter each fact once: the three lists, the ledger, the reports and the closure forms are views of
these rows. The processes keep them current (through inline service operations), so the ledger is
a query and never a deserialization.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rectiflow.db.base import Base, UTCDateTime
from rectiflow.db.checks import vocabulary_check as _check
from rectiflow.domain import vocab as v


class Round(Base):
    """巡察轮次: one inspection of one unit, with the configuration in force for it."""

    __tablename__ = "rounds"
    __table_args__ = (_check("status", v.RoundStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    team: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    feedback_date: Mapped[date] = mapped_column(Date)
    feedback_text: Mapped[str] = mapped_column(Text, default="")
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)  # report-schedule template in force
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)  # warning thresholds in force
    taxonomy: Mapped[list[Any]] = mapped_column(JSON)  # problem taxonomy in force
    plan_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), default="feedback")  # feedback|planning|rectifying|closed
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    problems: Mapped[list[Problem]] = relationship(back_populates="round", order_by="Problem.sort_key")


class Problem(Base):
    """问题: closed (销号) as a whole, only through the five-step acceptance chain."""

    __tablename__ = "problems"
    __table_args__ = (
        UniqueConstraint("round_id", "number"),
        Index("ix_problems_ledger", "unit_path", "status"),
        _check("status", v.ProblemStatus),
        _check("colour", v.WarningColour),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))  # 一、1、(1) written as "1.1.1"
    sort_key: Mapped[str] = mapped_column(String(64))
    aspect: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str] = mapped_column(String(16))
    domain_tag: Mapped[str] = mapped_column(String(32), default="")
    feedback_text: Mapped[str] = mapped_column(Text)  # read-only once issued (enforced in services)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    immediate: Mapped[bool] = mapped_column(Boolean, default=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(512))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    functional_department_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(24), default="not_started")
    colour: Mapped[str] = mapped_column(String(8), default="none")
    deadline: Mapped[date | None] = mapped_column(Date)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    long_term: Mapped[bool] = mapped_column(Boolean, default=False)
    yellow_count: Mapped[int] = mapped_column(Integer, default=0)
    red_count: Mapped[int] = mapped_column(Integer, default=0)
    returned_count: Mapped[int] = mapped_column(Integer, default=0)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship(back_populates="problems")
    measures: Mapped[list[Measure]] = relationship(back_populates="problem", order_by="Measure.seq")


class Measure(Base):
    """整改措施: several per problem; progress is reported per measure."""

    __tablename__ = "measures"
    __table_args__ = (
        UniqueConstraint("problem_id", "seq"),
        _check("status", v.MeasureStatus),
        _check("colour", v.WarningColour),
        _check("deadline_type", v.DeadlineType),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text, default="")  # 整改标准 / definition of done
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # 责任领导
    department_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # 牵头部门
    cooperating: Mapped[list[int]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # 责任人
    deadline_type: Mapped[str] = mapped_column(String(32), default="by_date")
    deadline: Mapped[date | None] = mapped_column(Date)
    review_cycle_months: Mapped[int | None] = mapped_column(Integer)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    progress_text: Mapped[str] = mapped_column(Text, default="")
    checked_elsewhere: Mapped[bool] = mapped_column(Boolean, default=False)  # 举一反三
    status: Mapped[str] = mapped_column(String(24), default="not_started")
    colour: Mapped[str] = mapped_column(String(8), default="none")
    yellow_count: Mapped[int] = mapped_column(Integer, default=0)
    red_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    problem: Mapped[Problem] = relationship(back_populates="measures")


class ProgressUpdate(Base):
    __tablename__ = "progress_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    progress: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AcceptanceStep(Base):
    """One opinion in the 验收销号 chain; a send-back keeps its requirement forever."""

    __tablename__ = "acceptance_steps"
    __table_args__ = (_check("step", v.AcceptanceStep), _check("decision", v.AcceptanceDecision))

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(32))  # apply|verify|higher_opinion|decision_meeting|sign_off
    decision: Mapped[str] = mapped_column(String(16))  # submit|approve|return
    opinion: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportMilestone(Base):
    """A statutory report due for a round (3 months, 6 months, year end...)."""

    __tablename__ = "report_milestones"
    __table_args__ = (
        UniqueConstraint("round_id", "kind"),
        _check("kind", v.ReportKind),
        _check("status", v.ReportStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|submitted|accepted|overdue
    content: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Supervision(Base):
    """挂牌督办: a deliberate escalation with a named leader, a hard deadline and a removal condition."""

    __tablename__ = "supervisions"
    __table_args__ = (_check("status", v.SupervisionStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    decided_by_role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hard_deadline: Mapped[date] = mapped_column(Date)
    removal_condition: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed|active|removed|declined
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notice(Base):
    """督办通知 / 提醒 / 告诫 and colour warnings, with acknowledgement (签收)."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # warning_green | warning_yellow | warning_red | supervision | reminder | admonition | report_due
    kind: Mapped[str] = mapped_column(String(32))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id"), index=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    requires_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One notice over one outside channel (email, webhook): the outbox row a job delivers."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        _check("channel", v.DeliveryChannel),
        _check("status", v.DeliveryStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # a DeliveryChannel: email|webhook|wecom|dingtalk
    target: Mapped[str] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExtensionRequest(Base):
    """延期 / 长期坚持 requests, approved in two levels."""

    __tablename__ = "extension_requests"
    __table_args__ = (_check("kind", v.ExtensionKind), _check("status", v.ExtensionStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # extension|long_term
    reason: Mapped[str] = mapped_column(Text)
    old_deadline: Mapped[date | None] = mapped_column(Date)
    new_deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Meeting(Base):
    """沟通协调: the unit rectification office's coordination meetings."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoundEvaluation(Base):
    """整改评估: the inspection office's assessment of a round's rectification (score and grade), for
    the leadership team's annual performance review; a poor grade starts accountability."""

    __tablename__ = "round_evaluations"
    __table_args__ = (_check("grade", v.EvaluationGrade),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(16))  # excellent|good|fair|poor
    comment: Mapped[str] = mapped_column(Text, default="")
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeadReferral(Base):
    """问题线索移交: a clue about an individual handed to the discipline or organisation department;
    counted separately from the problems and seen only by those who handle it."""

    __tablename__ = "lead_referrals"
    __table_args__ = (
        UniqueConstraint("round_id", "number"),
        _check("receiver", v.LeadReceiver),
        _check("status", v.LeadStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    receiver: Mapped[str] = mapped_column(String(32))  # discipline_committee|organisation_department|other
    referred_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="referred")  # referred|verifying|concluded
    outcome: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Accountability(Base):
    """问责: accountability talk (约谈), written explanation (书面说明), outcome for the annual review."""

    __tablename__ = "accountability"
    __table_args__ = (
        _check("trigger", v.AccountabilityTrigger),
        _check("status", v.AccountabilityStatus),
        _check("outcome", v.AccountabilityOutcome, allow_empty=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    trigger: Mapped[str] = mapped_column(String(32))  # repeatedly_overdue|poor_evaluation|manual
    talk_record: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(32), default="")  # an AccountabilityOutcome code, "" while open
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoredFile(Base):
    """Evidence content, stored once on disk by its sha256. Who may see it, and under which name,
    is in its grants: the same bytes uploaded for two units are two grants on one file."""

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FileGrant(Base):
    """One upload of a stored file for a unit: the name given there and the scope it is seen in."""

    __tablename__ = "file_grants"
    __table_args__ = (UniqueConstraint("sha256", "unit_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"), index=True)
    unit_path: Mapped[str] = mapped_column(String(512))
    name: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
