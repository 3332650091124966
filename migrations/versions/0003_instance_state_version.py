"""instance state version: what open forms are checked against

``version`` moves on every write of the instance row, including audit chain appends (comments,
claims, handovers), so a form opened before a colleague's comment was refused as stale.
``state_version`` moves only when the process state is written. Existing instances start from their
current ``version``, so forms open during the upgrade stay valid.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:08:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both dialects (SQLite 3.35+ drops columns in place): batch mode would rebuild
# process_instances, which SQLite refuses while user tasks, timers and jobs point at it.
def upgrade() -> None:
    op.add_column('process_instances', sa.Column('state_version', sa.Integer(), server_default='1', nullable=False))
    op.execute("UPDATE process_instances SET state_version = version")


def downgrade() -> None:
    op.drop_column('process_instances', 'state_version')
