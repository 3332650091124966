"""security: auth epochs, a shared login throttle, audit head anchors, no TRUNCATE of the audit log

``users.auth_epoch`` is carried in sessions and API tokens; raising it ends them all. The login
throttle is a table so every process counts one limit. ``audit_anchors`` holds every audit stream's
head with an HMAC made with the instance secret key: streams written before this revision have no
anchor until ``rectiflow audit anchor`` (run once after upgrading, after ``audit verify``)
anchors them; until then ``audit verify`` lists them. On PostgreSQL a statement-level trigger refuses
``TRUNCATE audit_events`` (the row-level append-only trigger never sees a TRUNCATE), and on both
databases anchors can be moved forward but not deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import rectiflow.db.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('auth_epoch', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_start', rectiflow.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', rectiflow.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )
    op.create_table(
        'audit_anchors',
        sa.Column('stream', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('stream', name=op.f('pk_audit_anchors')),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors "
                   "BEGIN SELECT RAISE(ABORT, 'audit_anchors rows cannot be deleted'); END")
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE FUNCTION audit_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME; END $$")
        for table in ("audit_events", "audit_anchors"):
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()")
        op.execute("CREATE FUNCTION audit_anchors_keep() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'audit_anchors rows cannot be deleted'; END $$")
        op.execute("CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors "
                   "FOR EACH ROW EXECUTE FUNCTION audit_anchors_keep()")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("audit_events", "audit_anchors"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS audit_anchors_no_delete ON audit_anchors")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_truncate()")
        op.execute("DROP FUNCTION IF EXISTS audit_anchors_keep()")
    op.drop_table('audit_anchors')
    op.drop_table('login_throttles')
    op.drop_column('users', 'auth_epoch')
