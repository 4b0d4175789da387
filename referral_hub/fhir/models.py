"""Tables of the versioned FHIR resource store and its search index.

One row per resource in ``fhir_resource`` (the current version, what reads and searches return), every version in
``fhir_resource_version`` (for vread, ``_history``, audit and time-to-accept metrics), and typed index rows written
in the same transaction as the resource so that a search never sees a resource without its index. Index tables
carry ``resource_type`` and ``param`` so that each search clause is one range scan on a composite index.

The index tables' ``resource_pk`` has no foreign key (migration 0011). Index rows are derived data written only by
the store, in the same statement as their resource row and from that row's own ``pk`` (``writes.py``); resources
are never deleted. A foreign-key check per index row is one more lookup and lock per row: for a screening
submission (~17 resources, ~200 index rows) it was about 1.5 ms of PostgreSQL's ~10 ms of CPU. The version table,
which is primary data, keeps its foreign key.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db_types import BigIntPK, JSONDocument, UTCDateTime
from referral_hub.extensions import db


class FhirResource(db.Model):
    """The current version of one resource."""

    __tablename__ = "fhir_resource"
    __table_args__ = (
        UniqueConstraint("resource_type", "resource_id", name="uq_fhir_resource_type_id"),
        Index("ix_fhir_resource_type_updated", "resource_type", "last_updated", "pk"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class FhirResourceVersion(db.Model):
    """Every version ever written, immutable."""

    __tablename__ = "fhir_resource_version"
    __table_args__ = (UniqueConstraint("resource_pk", "version_id", name="uq_fhir_resource_version_pk_vid"),)

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(ForeignKey("fhir_resource.pk", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(8))  # POST | PUT
    body: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class _IndexColumns:
    """Columns shared by every index table."""

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))


class TokenIndex(_IndexColumns, db.Model):
    __tablename__ = "fhir_idx_token"
    __table_args__ = (
        Index("ix_fhir_idx_token_lookup", "resource_type", "param", "code", "system", "resource_pk"),
        Index("ix_fhir_idx_token_resource", "resource_pk"),
    )
    resource_pk: Mapped[int] = mapped_column(BigIntPK)  # no foreign key: see the module docstring
    system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(255))


class ReferenceIndex(_IndexColumns, db.Model):
    """A reference value: local targets have ``target_type``/``target_id``; others keep their absolute ``url``."""

    __tablename__ = "fhir_idx_reference"
    __table_args__ = (
        Index(
            "ix_fhir_idx_reference_lookup",
            "resource_type",
            "param",
            "target_id",
            "target_type",
            "resource_pk",
        ),
        Index("ix_fhir_idx_reference_url", "resource_type", "param", "url"),
        Index("ix_fhir_idx_reference_target", "target_type", "target_id"),
        Index("ix_fhir_idx_reference_resource", "resource_pk"),
    )
    resource_pk: Mapped[int] = mapped_column(BigIntPK)  # no foreign key: see the module docstring
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(1024))


class DateIndex(_IndexColumns, db.Model):
    __tablename__ = "fhir_idx_date"
    __table_args__ = (
        Index("ix_fhir_idx_date_lookup", "resource_type", "param", "low", "high"),
        Index("ix_fhir_idx_date_resource", "resource_pk"),
    )
    resource_pk: Mapped[int] = mapped_column(BigIntPK)  # no foreign key: see the module docstring
    low: Mapped[datetime] = mapped_column(UTCDateTime)
    high: Mapped[datetime] = mapped_column(UTCDateTime)


class StringIndex(_IndexColumns, db.Model):
    __tablename__ = "fhir_idx_string"
    __table_args__ = (
        Index("ix_fhir_idx_string_lookup", "resource_type", "param", "value"),
        Index("ix_fhir_idx_string_resource", "resource_pk"),
    )
    resource_pk: Mapped[int] = mapped_column(BigIntPK)  # no foreign key: see the module docstring
    value: Mapped[str] = mapped_column(String(512))  # normalised (casefolded, no accents)
    exact: Mapped[str] = mapped_column(Text)


class NumberIndex(_IndexColumns, db.Model):
    __tablename__ = "fhir_idx_number"
    __table_args__ = (
        Index("ix_fhir_idx_number_lookup", "resource_type", "param", "value"),
        Index("ix_fhir_idx_number_resource", "resource_pk"),
    )
    resource_pk: Mapped[int] = mapped_column(BigIntPK)  # no foreign key: see the module docstring
    value: Mapped[Decimal] = mapped_column(Numeric(precision=28, scale=10))
    system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(255))


class UriIndex(_IndexColumns, db.Model):
    __tablename__ = "fhir_idx_uri"
    __table_args__ = (
        Index("ix_fhir_idx_uri_lookup", "resource_type", "param", "value"),
        Index("ix_fhir_idx_uri_resource", "resource_pk"),
    )
    resource_pk: Mapped[int] = mapped_column(BigIntPK)  # no foreign key: see the module docstring
    value: Mapped[str] = mapped_column(String(1024))


INDEX_TABLES = (TokenIndex, ReferenceIndex, DateIndex, StringIndex, NumberIndex, UriIndex)
