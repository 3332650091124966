"""Process definitions, instances and the projections read by pages and the scheduler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rectiflow.db.base import Base, UTCDateTime
from rectiflow.db.checks import vocabulary_check as _check
from rectiflow.domain import vocab as v


class SourceFile(Base):
    """A BPMN, DMN or form file, stored once per content hash."""

    __tablename__ = "source_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # bpmn | dmn | form
    name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessDefinition(Base):
    """An immutable deployed version of one process key.

    ``content_hash`` covers the closure the process runs with: its own BPMN file, the files of the
    processes it calls, the DMN tables and the forms its user tasks name. ``files`` lists those
    source hashes so the exact spec can be rebuilt from the database on any machine.
    """

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "content_hash"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"bpmn": {name: hash}, "dmn": {...}, "forms": {key: hash}}
    change_note: Mapped[str] = mapped_column(Text, default="")
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(64))


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_status_def", "status", "definition_id"),
        _check("status", v.InstanceStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(128))
    business_key: Mapped[str] = mapped_column(String(128), default="", index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|completed|suspended|terminated|error
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    state: Mapped[str] = mapped_column(Text)
    # Optimistic locking: every trigger writes ``WHERE version = :loaded``; a lost race is a Conflict.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # What a person's open form was built from: moves only when the process state is written, so a
    # comment, a claim or a handover (which move ``version`` through the audit chain head) does not
    # turn every open form on the instance stale. Starts at 1 like ``version``.
    state_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    started_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class UserTask(Base):
    """The inbox: one row per user task the engine made ready, kept in the trigger's transaction."""

    __tablename__ = "user_tasks"
    __table_args__ = (
        Index("ix_user_tasks_inbox", "status", "role", "unit_path"),
        Index("ix_user_tasks_assignee", "status", "assignee_id"),
        Index("ix_user_tasks_instance", "instance_id", "status"),
        _check("status", v.TaskStatus),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    process_key: Mapped[str] = mapped_column(String(128))
    element_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    role: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    unit_path: Mapped[str] = mapped_column(String(512), default="/")
    form_key: Mapped[str | None] = mapped_column(String(128))
    form_hash: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="ready")  # ready|completed|cancelled
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # claimed / reassigned / delegated
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Timer(Base):
    """Waiting timers with their due time, so the scheduler never deserializes workflows to look."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "status", "due_at"), _check("status", v.TimerStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|fired|cancelled
    firing_key: Mapped[str] = mapped_column(String(200), unique=True)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lateness_s: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClockState(Base):
    """The virtual clock's offset from wall time, shared by every process through the database."""

    __tablename__ = "clock_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
