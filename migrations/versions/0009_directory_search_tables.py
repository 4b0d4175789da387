"""Directory search tables (hsds_search_location, hsds_search_term) and their triggers

Revision ID: 0009_directory_search_tables
Revises: 0008_directory_listing_check
Create Date: 2026-11-26 04:08:00

Databases migrated before the search tables existed get them here; ``create_extras`` is idempotent, so on a
fresh database (where 0007 already created them) this is a no-op.
"""
from alembic import op

revision = '0009_directory_search_tables'
down_revision = '0008_directory_listing_check'
branch_labels = None
depends_on = None


def upgrade():
    from resource_directory.ddl import create_extras

    create_extras(op.get_bind())


def downgrade():
    from resource_directory.ddl import search_drop_sql

    bind = op.get_bind()
    for statement in search_drop_sql(bind.dialect.name):
        bind.exec_driver_sql(statement)
