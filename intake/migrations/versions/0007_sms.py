"""SMS over SMPP: the outbox's queue state, inbound SMS messages and PDUs, accepted submits

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('state', sa.String(length=16), nullable=False, server_default='queued'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_try_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_outbound_messages_state_next_try_at', ['state', 'next_try_at'], unique=False)
    # Messages a gateway already marked sent stay sent (the SMPP gateway must not send them again).
    op.execute("UPDATE outbound_messages SET state = 'sent' WHERE sent_at IS NOT NULL")
    op.create_table('sms_inbound_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('link', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=21), nullable=False),
    sa.Column('destination', sa.String(length=21), nullable=False),
    sa.Column('data_coding', sa.Integer(), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_sms_inbound_messages_case_id_cases')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_sms_inbound_messages_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_inbound_messages'))
    )
    with op.batch_alter_table('sms_inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_sms_inbound_messages_state_received_at', ['state', 'received_at'], unique=False)
    op.create_table('sms_inbound_pdus',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('link', sa.String(length=32), nullable=False),
    sa.Column('dedup_key', sa.String(length=80), nullable=False),
    sa.Column('source', sa.String(length=21), nullable=False),
    sa.Column('destination', sa.String(length=21), nullable=False),
    sa.Column('data_coding', sa.Integer(), nullable=False),
    sa.Column('concat_ref', sa.Integer(), nullable=True),
    sa.Column('concat_total', sa.Integer(), nullable=False),
    sa.Column('concat_seq', sa.Integer(), nullable=False),
    sa.Column('user_data', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['sms_inbound_messages.id'],
                            name=op.f('fk_sms_inbound_pdus_message_id_sms_inbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_inbound_pdus')),
    sa.UniqueConstraint('link', 'dedup_key', name=op.f('uq_sms_inbound_pdus_link_dedup_key'))
    )
    with op.batch_alter_table('sms_inbound_pdus', schema=None) as batch_op:
        batch_op.create_index('ix_sms_inbound_pdus_link_source_concat_ref', ['link', 'source', 'concat_ref'], unique=False)
    op.create_table('sms_submits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('outbound_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('link', sa.String(length=32), nullable=False),
    sa.Column('smsc_message_id', sa.String(length=65), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('receipt_state', sa.String(length=16), nullable=True),
    sa.Column('receipt_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['outbound_id'], ['outbound_messages.id'], name=op.f('fk_sms_submits_outbound_id_outbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_submits')),
    sa.UniqueConstraint('outbound_id', 'part', name=op.f('uq_sms_submits_outbound_id_part'))
    )
    with op.batch_alter_table('sms_submits', schema=None) as batch_op:
        batch_op.create_index('ix_sms_submits_link_smsc_message_id', ['link', 'smsc_message_id'], unique=False)


def downgrade() -> None:
    op.drop_table('sms_submits')
    op.drop_table('sms_inbound_pdus')
    op.drop_table('sms_inbound_messages')
    op.execute("DELETE FROM outbound_messages WHERE case_id IS NULL")
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_messages_state_next_try_at')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_try_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('state')
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
