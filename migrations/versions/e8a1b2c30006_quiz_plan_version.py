"""Exam day (issue 18): quizzes.plan_version, the version of a published quiz's draw plan kept in the shared
cache (quizzes/plans.py); the transaction that changes the quiz, its rules or its bank's questions sets it anew.

Revision ID: e8a1b2c30006
Revises: a7b8c9d00005
Create Date: 2026-12-05 06:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'e8a1b2c30006'
down_revision = 'a7b8c9d00005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_version', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.drop_column('plan_version')
