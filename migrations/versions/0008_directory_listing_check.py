"""Directory listing checks (issue 5 scope 8: "still correct / needs changes" e-mails)

Revision ID: 0008_directory_listing_check
Revises: 0007_resource_directory
Create Date: 2026-11-26 03:20:00

"""
from alembic import op
import sqlalchemy as sa

import referral_hub.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0008_directory_listing_check'
down_revision = '0007_resource_directory'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'directory_listing_check',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('service_id', sa.String(length=36), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('created_at', referral_hub.db_types.UTCDateTime(), nullable=False),
        sa.Column('sent_at', referral_hub.db_types.UTCDateTime(), nullable=True),
        sa.Column('answered_at', referral_hub.db_types.UTCDateTime(), nullable=True),
        sa.Column('answer', sa.String(length=16), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('handled_at', referral_hub.db_types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "answer IS NULL OR answer IN ('confirmed', 'needs_changes')",
            name=op.f('ck_directory_listing_check_answer'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_listing_check')),
    )
    with op.batch_alter_table('directory_listing_check', schema=None) as batch_op:
        batch_op.create_index('ix_directory_listing_check_answer_handled', ['answer', 'handled_at'], unique=False)
        batch_op.create_index('ix_directory_listing_check_service_email', ['service_id', 'email'], unique=False)


def downgrade():
    with op.batch_alter_table('directory_listing_check', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_listing_check_service_email')
        batch_op.drop_index('ix_directory_listing_check_answer_handled')
    op.drop_table('directory_listing_check')
