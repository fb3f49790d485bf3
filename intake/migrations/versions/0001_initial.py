"""initial schema: reports, decisions, cases, events

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 01:31:13.448784
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('alternative_codes', sa.JSON(), nullable=False),
    sa.Column('street', sa.String(length=64), nullable=True),
    sa.Column('community', sa.String(length=12), nullable=True),
    sa.Column('grid', sa.String(length=15), nullable=True),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('tokens', sa.Text(), nullable=False),
    sa.Column('department_id', sa.String(length=64), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('hot', sa.Boolean(), nullable=False),
    sa.Column('inspector_confirmed', sa.Boolean(), nullable=False),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.Column('callers', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('recurrence_of', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('last_report_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['recurrence_of'], ['cases.id'], name=op.f('fk_cases_recurrence_of_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_code', ['code'], unique=False)
        batch_op.create_index('ix_cases_community_last_report_at', ['community', 'last_report_at'], unique=False)
        batch_op.create_index('ix_cases_grid_closed_at', ['grid', 'closed_at'], unique=False)
        batch_op.create_index('ix_cases_grid_last_report_at', ['grid', 'last_report_at'], unique=False)
        batch_op.create_index('ix_cases_status_opened_at', ['status', 'opened_at'], unique=False)
        batch_op.create_index('ix_cases_street_last_report_at', ['street', 'last_report_at'], unique=False)

    lock = op.create_table('intake_lock',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_lock'))
    )
    # The one row every intake transaction locks (see intake.db.schema.intake_lock).
    op.bulk_insert(lock, [{"id": 1, "generation": 0}])
    op.create_table('reports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('street_hint', sa.String(length=64), nullable=True),
    sa.Column('code_hint', sa.String(length=5), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('stored_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_reports_channel_external_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_received_at', ['received_at'], unique=False)

    op.create_table('case_places',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=64), nullable=False),
    sa.Column('last_report_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_places_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', 'place', name=op.f('pk_case_places'))
    )
    with op.batch_alter_table('case_places', schema=None) as batch_op:
        batch_op.create_index('ix_case_places_place_last_report_at', ['place', 'last_report_at'], unique=False)

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_case_id_at', ['case_id', 'at'], unique=False)

    op.create_table('case_reports',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_reports_case_id_cases')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_case_reports_report_id_reports')),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_case_reports'))
    )
    with op.batch_alter_table('case_reports', schema=None) as batch_op:
        batch_op.create_index('ix_case_reports_case_id', ['case_id'], unique=False)

    op.create_table('report_decisions',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('model_version', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('abstain', sa.Boolean(), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('out_of_scope', sa.Boolean(), nullable=False),
    sa.Column('agency', sa.String(length=64), nullable=True),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('classification_reasons', sa.JSON(), nullable=False),
    sa.Column('street', sa.String(length=64), nullable=True),
    sa.Column('community', sa.String(length=12), nullable=True),
    sa.Column('grid', sa.String(length=15), nullable=True),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('location_reasons', sa.JSON(), nullable=False),
    sa.Column('duplicate_outcome', sa.String(length=16), nullable=False),
    sa.Column('duplicate_score', sa.Float(), nullable=True),
    sa.Column('duplicate_reasons', sa.JSON(), nullable=False),
    sa.Column('department_id', sa.String(length=64), nullable=True),
    sa.Column('routing_level', sa.String(length=16), nullable=True),
    sa.Column('routing_reasons', sa.JSON(), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('audit_sampled', sa.Boolean(), nullable=False),
    sa.Column('tokens', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_report_decisions_case_id_cases')),
    sa.ForeignKeyConstraint(['duplicate_of'], ['cases.id'], name=op.f('fk_report_decisions_duplicate_of_cases')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_decisions_report_id_reports')),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_report_decisions'))
    )
    with op.batch_alter_table('report_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_report_decisions_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_report_decisions_needs_review', ['needs_review'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_report_decisions_needs_review')
        batch_op.drop_index('ix_report_decisions_case_id')

    op.drop_table('report_decisions')
    with op.batch_alter_table('case_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_case_reports_case_id')

    op.drop_table('case_reports')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case_id_at')

    op.drop_table('case_events')
    with op.batch_alter_table('case_places', schema=None) as batch_op:
        batch_op.drop_index('ix_case_places_place_last_report_at')

    op.drop_table('case_places')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_received_at')

    op.drop_table('reports')
    op.drop_table('intake_lock')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_street_last_report_at')
        batch_op.drop_index('ix_cases_status_opened_at')
        batch_op.drop_index('ix_cases_grid_last_report_at')
        batch_op.drop_index('ix_cases_community_last_report_at')
        batch_op.drop_index('ix_cases_code')

    op.drop_table('cases')
