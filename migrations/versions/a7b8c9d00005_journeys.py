"""Journeys (issue 17): large-text mode remembered per user (users.large_text); the reason a training class was
graduated before it ended (training_classes.early_graduation_reason); an organizer excusing a member from a past
offline lecture or recording a make-up (lecture_excusals).

Revision ID: a7b8c9d00005
Revises: a7c0de160005
Create Date: 2026-12-04 16:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'a7b8c9d00005'
down_revision = 'a7c0de160005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lecture_excusals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('lecture_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['lecture_id'], ['lectures.id'], name=op.f('fk_lecture_excusals_lecture_id_lectures')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_lecture_excusals_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lecture_excusals_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lecture_excusals')),
        sa.UniqueConstraint('user_id', 'lecture_id', name='uq_lecture_excusals_user_lecture'))
    with op.batch_alter_table('lecture_excusals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lecture_excusals_lecture_id'), ['lecture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lecture_excusals_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('large_text', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('early_graduation_reason', sa.String(length=300), nullable=True))


def downgrade():
    op.drop_table('lecture_excusals')
    with op.batch_alter_table('training_classes', schema=None) as batch_op:
        batch_op.drop_column('early_graduation_reason')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('large_text')
