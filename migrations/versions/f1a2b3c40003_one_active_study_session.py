"""One active study session per member, held by the database: a partial unique index on study_sessions.user_id
where superseded_at IS NULL. Sessions left active twice by the old code are superseded first (all but the
newest of each member).

Revision ID: f1a2b3c40003
Revises: d6e0a7a10002
Create Date: 2026-12-04 16:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'f1a2b3c40003'
down_revision = 'd6e0a7a10002'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text(
        "UPDATE study_sessions SET superseded_at = last_beat_at WHERE superseded_at IS NULL AND id < "
        "(SELECT MAX(newer.id) FROM study_sessions AS newer "
        " WHERE newer.user_id = study_sessions.user_id AND newer.superseded_at IS NULL)"))
    with op.batch_alter_table('study_sessions', schema=None) as batch_op:
        batch_op.create_index('uq_study_sessions_user_active', ['user_id'], unique=True,
                              sqlite_where=sa.text('superseded_at IS NULL'),
                              postgresql_where=sa.text('superseded_at IS NULL'))


def downgrade():
    with op.batch_alter_table('study_sessions', schema=None) as batch_op:
        batch_op.drop_index('uq_study_sessions_user_active')
