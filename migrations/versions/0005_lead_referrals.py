"""lead referrals (问题线索移交): confidential, counted separately from the problems

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 15:50:08.913414
"""

from alembic import op
import sqlalchemy as sa
import rectiflow.db.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lead_referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('receiver', sa.String(length=32), nullable=False),
    sa.Column('referred_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', rectiflow.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rectiflow.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_lead_referrals_recorded_by_users')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_lead_referrals_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_referrals')),
    sa.UniqueConstraint('round_id', 'number', name=op.f('uq_lead_referrals_round_id_number'))
    )
    with op.batch_alter_table('lead_referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_referrals_round_id'), ['round_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lead_referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_referrals_round_id'))

    op.drop_table('lead_referrals')
