"""phone calls: one row per answered call (recording, transcript, state), linked to its report

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.String(length=255), nullable=False),
    sa.Column('line', sa.String(length=64), nullable=False),
    sa.Column('hotline', sa.String(length=16), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('wav_path', sa.Text(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('menu', sa.String(length=16), nullable=False),
    sa.Column('asr_status', sa.String(length=16), nullable=False),
    sa.Column('engine', sa.String(length=32), nullable=False),
    sa.Column('dtmf', sa.String(length=64), nullable=False),
    sa.Column('frames_received', sa.Integer(), nullable=False),
    sa.Column('frames_lost', sa.Integer(), nullable=False),
    sa.Column('transcript', sa.Text(), nullable=True),
    sa.Column('words', sa.JSON(), nullable=False),
    sa.Column('transcript_source', sa.String(length=16), nullable=True),
    sa.Column('transcribed_by', sa.String(length=64), nullable=True),
    sa.Column('intake_status', sa.String(length=24), nullable=False),
    sa.Column('intake_error', sa.Text(), nullable=True),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('stored_at', sa.DateTime(), nullable=False),
    sa.Column('recording_deleted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_calls_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('call_id', name=op.f('uq_calls_call_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_intake_status_started_at', ['intake_status', 'started_at'], unique=False)
        batch_op.create_index('ix_calls_report_id', ['report_id'], unique=False)
        batch_op.create_index('ix_calls_started_at', ['started_at'], unique=False)
        batch_op.create_index('ix_calls_state_started_at', ['state', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_state_started_at')
        batch_op.drop_index('ix_calls_started_at')
        batch_op.drop_index('ix_calls_report_id')
        batch_op.drop_index('ix_calls_intake_status_started_at')

    op.drop_table('calls')
