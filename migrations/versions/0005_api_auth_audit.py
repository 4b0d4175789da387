"""API clients, the assertion replay store, FHIR compartments and the append-only audit log

Only this feature's tables (issue 3 scopes 3-5): api_client, oauth_used_jti, fhir_compartment, audit_event, plus
triggers that make audit_event append-only on SQLite and PostgreSQL (UPDATE and DELETE raise). TRUNCATE is left
alone on purpose: it is an operator's (and the test suite's) act, not something application code can issue.

Revision ID: 0005_api_auth_audit
Revises: 0006_screening
Create Date: 2026-11-26 02:18:26.929987

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))

import referral_hub.db_types  # noqa: F401  (custom column types)
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005_api_auth_audit'
down_revision = '0006_screening'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('recorded_at', referral_hub.db_types.UTCDateTime(), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('subtype', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=1), nullable=False),
    sa.Column('outcome', sa.String(length=2), nullable=False),
    sa.Column('outcome_desc', sa.String(length=255), nullable=True),
    sa.Column('principal_kind', sa.String(length=16), nullable=False),
    sa.Column('principal_id', sa.String(length=128), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('resource_type', sa.String(length=64), nullable=True),
    sa.Column('resource_id', sa.String(length=64), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('patient_ref', sa.String(length=128), nullable=True),
    sa.Column('query', sa.String(length=512), nullable=True),
    sa.Column('source_address', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_patient_recorded', ['patient_ref', 'recorded_at'], unique=False)
        batch_op.create_index('ix_audit_event_principal_recorded', ['principal_id', 'recorded_at'], unique=False)
        batch_op.create_index('ix_audit_event_recorded_at', ['recorded_at'], unique=False)

    op.create_table('oauth_used_jti',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires_at', referral_hub.db_types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'jti', name=op.f('pk_oauth_used_jti'))
    )
    with op.batch_alter_table('oauth_used_jti', schema=None) as batch_op:
        batch_op.create_index('ix_oauth_used_jti_expires_at', ['expires_at'], unique=False)

    op.create_table('api_client',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sa.String(length=128), nullable=True),
    sa.Column('jwks', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('scopes', sa.String(length=2048), nullable=False),
    sa.Column('all_compartments', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', referral_hub.db_types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_api_client_organization_id_organization'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_api_client_client_id'))
    )
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_client_organization_id'), ['organization_id'], unique=False)

    op.create_table('fhir_compartment',
    sa.Column('organization_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('source_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_fhir_compartment_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_pk'], ['fhir_resource.pk'], name=op.f('fk_fhir_compartment_resource_pk_fhir_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'resource_pk', 'source_pk', name=op.f('pk_fhir_compartment'))
    )
    with op.batch_alter_table('fhir_compartment', schema=None) as batch_op:
        batch_op.create_index('ix_fhir_compartment_resource_pk', ['resource_pk'], unique=False)
        batch_op.create_index('ix_fhir_compartment_source_pk', ['source_pk'], unique=False)

    _create_audit_triggers()


_AUDIT_MESSAGE = "audit_event is append-only: UPDATE and DELETE are refused"


def _create_audit_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_AUDIT_MESSAGE}'; END $$"
        )
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb} BEFORE {verb.upper()} ON audit_event "
                "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
            )
    else:
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb} BEFORE {verb.upper()} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{_AUDIT_MESSAGE}'); END"
            )


def _drop_audit_triggers():
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{verb}" + (
            " ON audit_event" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")


def downgrade():
    _drop_audit_triggers()
    op.drop_table('fhir_compartment')
    op.drop_table('api_client')
    op.drop_table('oauth_used_jti')
    op.drop_table('audit_event')
