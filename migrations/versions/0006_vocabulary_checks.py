"""vocabulary checks: every status, kind and role column accepts only its vocabulary's codes

The codes are those of ``rectiflow.domain.vocab`` (unchanged, so no stored status moves), with one
exception: an accountability case stored its outcome as the Chinese label (约谈 / 书面说明 / 通报), which
no English page could translate; it now stores the code (talk / explanation / circular) and the label is
rendered from the vocabulary. Downgrade drops the constraints and writes the labels back.

SQLite cannot add a constraint to a table, so batch mode rebuilds each table. A rebuild drops the old
table, and with foreign keys on, dropping a table that other rows point at fails; SQLite only turns the
keys off between transactions, so on SQLite the rebuild runs in a transaction of its own with the keys
off, and ``PRAGMA foreign_key_check`` must come back empty before it commits.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from rectiflow.domain import vocab as v
from rectiflow.domain.vocab import check_in

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# (table, column, vocabulary, "" allowed). The models declare the same (rectiflow.db.checks).
CHECKS: tuple[tuple[str, str, type[v.Vocabulary], bool], ...] = (
    ("units", "kind", v.UnitKind, False),
    ("role_assignments", "role", v.Role, False),
    ("process_instances", "status", v.InstanceStatus, False),
    ("user_tasks", "status", v.TaskStatus, False),
    ("timers", "status", v.TimerStatus, False),
    ("jobs", "status", v.JobStatus, False),
    ("incidents", "kind", v.IncidentKind, False),
    ("incidents", "status", v.IncidentStatus, False),
    ("rounds", "status", v.RoundStatus, False),
    ("problems", "status", v.ProblemStatus, False),
    ("problems", "colour", v.WarningColour, False),
    ("measures", "status", v.MeasureStatus, False),
    ("measures", "colour", v.WarningColour, False),
    ("measures", "deadline_type", v.DeadlineType, False),
    ("acceptance_steps", "step", v.AcceptanceStep, False),
    ("acceptance_steps", "decision", v.AcceptanceDecision, False),
    ("report_milestones", "kind", v.ReportKind, False),
    ("report_milestones", "status", v.ReportStatus, False),
    ("supervisions", "status", v.SupervisionStatus, False),
    ("deliveries", "channel", v.DeliveryChannel, False),
    ("deliveries", "status", v.DeliveryStatus, False),
    ("extension_requests", "kind", v.ExtensionKind, False),
    ("extension_requests", "status", v.ExtensionStatus, False),
    ("round_evaluations", "grade", v.EvaluationGrade, False),
    ("lead_referrals", "receiver", v.LeadReceiver, False),
    ("lead_referrals", "status", v.LeadStatus, False),
    ("accountability", "trigger", v.AccountabilityTrigger, False),
    ("accountability", "status", v.AccountabilityStatus, False),
    ("accountability", "outcome", v.AccountabilityOutcome, True),
)
# What revision 0005 stored in accountability.outcome, by today's code.
OUTCOME_LABELS = {"talk": "约谈", "explanation": "书面说明", "circular": "通报"}
RELABEL = sa.text("UPDATE accountability SET outcome = :new WHERE outcome = :old")


def _tables() -> dict[str, list[tuple[str, type[v.Vocabulary], bool]]]:
    by_table: dict[str, list[tuple[str, type[v.Vocabulary], bool]]] = {}
    for table, column, vocabulary, allow_empty in CHECKS:
        by_table.setdefault(table, []).append((column, vocabulary, allow_empty))
    return by_table


@contextmanager
def _foreign_keys_off_on_sqlite() -> Iterator[None]:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    raw = bind.connection.driver_connection
    assert raw is not None
    if raw.in_transaction:
        raw.execute("COMMIT")
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("BEGIN IMMEDIATE")
    try:
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rebuilding the tables broke foreign keys: {broken[:5]}")
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    finally:
        raw.execute("PRAGMA foreign_keys=ON")
        # Alembic records the revision and commits in the transaction it believes is still open.
        raw.execute("BEGIN IMMEDIATE")


def _each_table(change: Callable[..., None]) -> None:
    with _foreign_keys_off_on_sqlite():
        for table, columns in _tables().items():
            with op.batch_alter_table(table, schema=None) as batch_op:
                for column, vocabulary, allow_empty in columns:
                    change(batch_op, table, column, vocabulary, allow_empty)


def upgrade() -> None:
    for code, label in OUTCOME_LABELS.items():
        op.execute(RELABEL.bindparams(new=code, old=label))

    def add(batch_op, table, column, vocabulary, allow_empty):  # type: ignore[no-untyped-def]
        batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"),
                                         check_in(column, vocabulary, allow_empty=allow_empty))

    _each_table(add)


def downgrade() -> None:
    def drop(batch_op, table, column, vocabulary, allow_empty):  # type: ignore[no-untyped-def]
        batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")

    _each_table(drop)
    for code, label in OUTCOME_LABELS.items():
        op.execute(RELABEL.bindparams(new=label, old=code))
