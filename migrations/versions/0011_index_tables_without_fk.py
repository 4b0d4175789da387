"""The search-index tables lose their foreign key to fhir_resource

Revision ID: 0011_index_tables_without_fk
Revises: 0010_directory_stmt_triggers
Create Date: 2026-11-26 12:10:00

Index rows are derived data the store writes in the same statement as their resource, from its own pk, and
resources are never deleted; the per-row foreign-key check cost about 15 % of PostgreSQL's CPU on a screening
submission (~200 index rows). See ``referral_hub/fhir/models.py``. The version table keeps its foreign key.
"""
from alembic import op

revision = '0011_index_tables_without_fk'
down_revision = '0010_directory_stmt_triggers'
branch_labels = None
depends_on = None

INDEX_TABLES = ("fhir_idx_token", "fhir_idx_reference", "fhir_idx_date", "fhir_idx_string", "fhir_idx_number", "fhir_idx_uri")


def _name(table):
    return f"fk_{table}_resource_pk_fhir_resource"


def upgrade():
    for table in INDEX_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_name(table), type_="foreignkey")


def downgrade():
    for table in INDEX_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(_name(table), "fhir_resource", ["resource_pk"], ["pk"], ondelete="CASCADE")
