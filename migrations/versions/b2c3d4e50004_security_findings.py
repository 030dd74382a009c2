"""Security findings (issue 13): throttle counters shared by every server (login, check-in codes) replace
the login_attempts rows; course co-authors; materials' text status (extracted by a job); manual hour entries above the approval threshold wait in manual_hour_requests.

Revision ID: b2c3d4e50004
Revises: f1a2b3c40003
Create Date: 2026-12-04 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2c3d4e50004'
down_revision = 'f1a2b3c40003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('throttle_counters',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_throttle_counters'))
    )
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttle_counters_window_started_at'), ['window_started_at'], unique=False)

    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_identifier_created_at')
        batch_op.drop_index('ix_login_attempts_address_created_at')
    op.drop_table('login_attempts')

    op.create_table('manual_hour_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('attachment_key', sa.String(length=100), nullable=True),
    sa.Column('attachment_mime', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_manual_hour_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['hour_entries.id'], name=op.f('fk_manual_hour_requests_entry_id_hour_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_manual_hour_requests_member_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_manual_hour_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_hour_requests')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_manual_hour_requests_entry_id'))
    )
    with op.batch_alter_table('manual_hour_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_hour_requests_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manual_hour_requests_status'), ['status'], unique=False)

    op.create_table('course_authors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_course_authors_added_by_id_users')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_authors_course_id_courses')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_course_authors_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_authors')),
    sa.UniqueConstraint('course_id', 'user_id', name='uq_course_authors_course_user')
    )
    with op.batch_alter_table('course_authors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_authors_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_authors_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_status', sa.String(length=20), server_default='ready', nullable=False))
        batch_op.add_column(sa.Column('text_note', sa.String(length=300), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_column('text_note')
        batch_op.drop_column('text_status')

    with op.batch_alter_table('course_authors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_authors_user_id'))
        batch_op.drop_index(batch_op.f('ix_course_authors_course_id'))
    op.drop_table('course_authors')

    with op.batch_alter_table('manual_hour_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_hour_requests_status'))
        batch_op.drop_index(batch_op.f('ix_manual_hour_requests_member_id'))
    op.drop_table('manual_hour_requests')

    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_address_created_at', ['address', 'created_at'], unique=False)
        batch_op.create_index('ix_login_attempts_identifier_created_at', ['identifier', 'created_at'], unique=False)

    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_counters_window_started_at'))
    op.drop_table('throttle_counters')
