"""round evaluations (整改评估): a score and grade per assessment of a round's rectification

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 15:41:27.904255
"""

from alembic import op
import sqlalchemy as sa
import rectiflow.db.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('round_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('by_user', sa.Integer(), nullable=True),
    sa.Column('at', rectiflow.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_user'], ['users.id'], name=op.f('fk_round_evaluations_by_user_users')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_evaluations_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_evaluations'))
    )
    with op.batch_alter_table('round_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_evaluations_round_id'), ['round_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('round_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_evaluations_round_id'))

    op.drop_table('round_evaluations')
