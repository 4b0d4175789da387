"""Customer-loaded screening instruments

Revision ID: 0006_screening
Revises: 0004_accounts
Create Date: 2026-11-26 02:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

import referral_hub.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0006_screening'
down_revision = '0004_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'screening_instrument',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('url', sa.String(length=512), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('questionnaire', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
        sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
        sa.Column('loaded_at', referral_hub.db_types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_instrument')),
        sa.UniqueConstraint('url', 'version', name='uq_screening_instrument_url_version'),
    )


def downgrade():
    op.drop_table('screening_instrument')
