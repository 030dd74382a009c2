"""Hour totals: per-member, per-year sums of the ledger kept by triggers on hour_entries; the ledger's
member index covers source and seconds.

The triggers are plain DDL, not seen by autogenerate. A later migration that makes SQLite recreate
hour_entries (batch mode "move and copy") drops them: call learning.totals.rebuild(op.get_bind()) after it.

Revision ID: d6e0a7a10002
Revises: c8a55e5a0001
Create Date: 2026-11-28 04:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd6e0a7a10002'
down_revision = 'c8a55e5a0001'
branch_labels = None
depends_on = None


def upgrade():
    from learning import totals

    op.create_table('hour_totals',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('online', sa.Integer(), nullable=False),
    sa.Column('offline', sa.Integer(), nullable=False),
    sa.Column('quiz', sa.Integer(), nullable=False),
    sa.Column('course', sa.Integer(), nullable=False),
    sa.Column('manual', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'year', name=op.f('pk_hour_totals')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('hour_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_hour_entries_user_occurred')
        batch_op.create_index('ix_hour_entries_user_occurred', ['user_id', 'occurred_at', 'source', 'seconds'],
                              unique=False)
    totals.rebuild(op.get_bind())  # the triggers, and the sums of the entries already there


def downgrade():
    from learning import totals

    for statement in totals.drop_trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('hour_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_hour_entries_user_occurred')
        batch_op.create_index('ix_hour_entries_user_occurred', ['user_id', 'occurred_at'], unique=False)
    op.drop_table('hour_totals')
