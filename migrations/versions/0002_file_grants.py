"""file grants: who may see a stored file, and under which name, per unit

Identical bytes uploaded for two units used to share one row carrying the first unit's scope and
name, so the second unit could not download its own evidence and saw the first unit's file name.
The bytes stay stored once; each (file, unit) upload becomes a grant. Existing rows become the
first grant of their file.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 14:58:03.136124
"""

import sqlalchemy as sa
from alembic import op

import rectiflow.db.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'file_grants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('unit_path', sa.String(length=512), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('uploaded_by', sa.Integer(), nullable=True),
        sa.Column('created_at', rectiflow.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_file_grants_uploaded_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_file_grants')),
        sa.UniqueConstraint('sha256', 'unit_path', name=op.f('uq_file_grants_sha256_unit_path')),
    )
    with op.batch_alter_table('file_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_file_grants_sha256'), ['sha256'], unique=False)

    op.execute("INSERT INTO file_grants (sha256, unit_path, name, uploaded_by, created_at) "
               "SELECT sha256, unit_path, name, uploaded_by, created_at FROM stored_files")

    # SQLite rebuilds a table to drop columns, and cannot drop one that another table's foreign key
    # points at: the grant → file key is added once stored_files has its final shape.
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stored_files_uploaded_by_users'), type_='foreignkey')
        batch_op.drop_column('uploaded_by')
        batch_op.drop_column('name')
        batch_op.drop_column('unit_path')
    with op.batch_alter_table('file_grants', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_file_grants_sha256_stored_files'), 'stored_files',
                                    ['sha256'], ['sha256'])


def downgrade() -> None:
    # Back to one scope per file: the first grant's (later grants' units lose access again).
    with op.batch_alter_table('file_grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_file_grants_sha256_stored_files'), type_='foreignkey')
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_path', sa.VARCHAR(length=512), nullable=False, server_default='/'))
        batch_op.add_column(sa.Column('name', sa.VARCHAR(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('uploaded_by', sa.INTEGER(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_stored_files_uploaded_by_users'), 'users', ['uploaded_by'], ['id'])
    op.execute(
        "UPDATE stored_files SET "
        "unit_path = (SELECT g.unit_path FROM file_grants g WHERE g.sha256 = stored_files.sha256 ORDER BY g.id LIMIT 1), "
        "name = (SELECT g.name FROM file_grants g WHERE g.sha256 = stored_files.sha256 ORDER BY g.id LIMIT 1), "
        "uploaded_by = (SELECT g.uploaded_by FROM file_grants g WHERE g.sha256 = stored_files.sha256 "
        "ORDER BY g.id LIMIT 1) "
        "WHERE EXISTS (SELECT 1 FROM file_grants g WHERE g.sha256 = stored_files.sha256)")
    op.drop_table('file_grants')
