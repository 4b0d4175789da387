"""Directory search upkeep on PostgreSQL: statement-level triggers and one flush request per transaction

Revision ID: 0010_directory_stmt_triggers
Revises: 0009_directory_search_tables
Create Date: 2026-11-26 05:30:00

The row-level triggers of 0009 noted every written row (an import of 100,000 rows ran 100,000 trigger calls)
and queued one COMMIT-time flush per noted service. They are replaced by statement-level triggers with
transition tables and a single flush request per transaction; the refresh functions build the search rows
and documents with grouped joins. Only the PostgreSQL trigger functions change (SQLite keeps its per-row
triggers, which the importer suspends around bulk writes), and no search row is rebuilt: the rows the old
triggers made are the rows the new ones make.
"""
from alembic import op

revision = '0010_directory_stmt_triggers'
down_revision = '0009_directory_search_tables'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from resource_directory.ddl import POSTGRESQL_EXTRAS, search_extras_sql

    # Idempotent CREATE OR REPLACE / IF NOT EXISTS statements; they also drop the row-level triggers.
    for statement in [*POSTGRESQL_EXTRAS, *search_extras_sql("postgresql")]:
        bind.exec_driver_sql(statement)


def downgrade():
    # The statement triggers keep 0009's tables exactly as its row triggers did, and 0009's downgrade drops
    # them (``search_drop_sql`` knows both generations), so there is nothing to undo here.
    pass
