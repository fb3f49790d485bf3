"""closed loop: pending requests and parking on cases, outbound messages, satisfaction

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_request', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('resume_status', sa.String(length=16), nullable=True))
    op.create_table('outbound_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_outbound_messages_case_id_cases')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_outbound_messages_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages'))
    )
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_messages_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_outbound_messages_sent_at_created_at', ['sent_at', 'created_at'], unique=False)
    op.create_table('case_satisfaction',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=24), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_satisfaction_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_satisfaction'))
    )


def downgrade() -> None:
    op.drop_table('case_satisfaction')
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_messages_sent_at_created_at')
        batch_op.drop_index('ix_outbound_messages_case_id')
    op.drop_table('outbound_messages')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('resume_status')
        batch_op.drop_column('pending_request')
