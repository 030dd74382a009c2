"""Journeys (issue 17): large-text mode remembered per user (users.large_text); the reason a training class was
graduated before it ended (training_classes.early_graduation_reason).

Revision ID: a7b8c9d00005
Revises: f1c0a5e50003
Create Date: 2026-12-04 16:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'a7b8c9d00005'
down_revision = 'f1c0a5e50003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('large_text', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('early_graduation_reason', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.drop_column('early_graduation_reason')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('large_text')
