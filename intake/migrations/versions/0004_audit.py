"""classification audit: append-only reviews of classifications, sampled-decision index

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('classification_reviews',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('model_version', sa.String(length=40), nullable=False),
    sa.Column('old_code', sa.String(length=5), nullable=True),
    sa.Column('old_out_of_scope', sa.Boolean(), nullable=False),
    sa.Column('old_agency', sa.String(length=64), nullable=True),
    sa.Column('new_code', sa.String(length=5), nullable=True),
    sa.Column('new_out_of_scope', sa.Boolean(), nullable=False),
    sa.Column('new_agency', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_classification_reviews_case_id_cases')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_classification_reviews_report_id_reports')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_classification_reviews_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classification_reviews'))
    )
    with op.batch_alter_table('classification_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_classification_reviews_at', ['at'], unique=False)
        batch_op.create_index('ix_classification_reviews_report_id_id', ['report_id', 'id'], unique=False)

    with op.batch_alter_table('report_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_report_decisions_audit_sampled', ['audit_sampled'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_report_decisions_audit_sampled')

    with op.batch_alter_table('classification_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_classification_reviews_report_id_id')
        batch_op.drop_index('ix_classification_reviews_at')

    op.drop_table('classification_reviews')
