"""mutualised requests and their history (issue 12)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'requests',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('category', sa.String(length=128), nullable=False),
        sa.Column('form_ref', sa.String(length=255), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('form_url', sa.Text(), nullable=False),
        sa.Column('location', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('instance', sa.String(length=64), nullable=True),
        sa.Column('commune', sa.String(length=8), nullable=True),
        sa.Column('method', sa.String(length=16), nullable=True),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('queue', sa.String(length=64), nullable=True),
        sa.Column('triage_reason', sa.String(length=32), nullable=True),
        sa.Column('triaged', sa.Integer(), nullable=False),
        sa.Column('pending_geocoder', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_requests_instance_status', 'requests', ['instance', 'status'])
    op.create_index('ix_requests_status_queue', 'requests', ['status', 'queue'])
    op.create_index('ix_requests_created', 'requests', ['created_at'])
    op.create_table(
        'request_history',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('request_id', _ID, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('instance', sa.String(length=64), nullable=True),
        sa.Column('actor', sa.String(length=255), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_request_history_request_id', 'request_history', ['request_id'])


def downgrade() -> None:
    op.drop_index('ix_request_history_request_id', table_name='request_history')
    op.drop_table('request_history')
    op.drop_index('ix_requests_created', table_name='requests')
    op.drop_index('ix_requests_status_queue', table_name='requests')
    op.drop_index('ix_requests_instance_status', table_name='requests')
    op.drop_table('requests')
