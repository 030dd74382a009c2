"""Shared state for several servers: the content version the page cache keys on, and member imports staged in
the database (not on one server's disk).

Revision ID: f1c0a5e50003
Revises: b2c3d4e50004
Create Date: 2026-12-04 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1c0a5e50003'
down_revision = 'b2c3d4e50004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('content_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_version'))
    )
    op.execute("INSERT INTO content_version (id, version) VALUES (1, 0)")
    op.create_table('staged_member_imports',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staged_member_imports_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_staged_member_imports'))
    )
    with op.batch_alter_table('staged_member_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_member_imports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staged_member_imports_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staged_member_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_member_imports_user_id'))
        batch_op.drop_index(batch_op.f('ix_staged_member_imports_created_at'))
    op.drop_table('staged_member_imports')
    op.drop_table('content_version')
