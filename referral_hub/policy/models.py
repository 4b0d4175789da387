"""``fhir_compartment``: which hub organizations may see which stored resources.

One row per (organization, resource, reason). ``source_pk`` says why the grant exists: 0 for "created by this
organization", or the pk of the referral Task whose requester/owner the organization is. Keeping
the reason lets a Task write recompute exactly its own grants (delete by ``source_pk``, insert the new set)
without touching grants that other Tasks or the creator hold.

The primary key starts with ``organization_id`` so the visibility filter (``pk IN (SELECT resource_pk … WHERE
organization_id = :org)``) is one index range scan.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.extensions import db


class FhirCompartment(db.Model):
    __tablename__ = "fhir_compartment"
    __table_args__ = (
        Index("ix_fhir_compartment_source_pk", "source_pk"),
        Index("ix_fhir_compartment_resource_pk", "resource_pk"),
    )

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    resource_pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer(), "sqlite"),
        ForeignKey("fhir_resource.pk", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    #: Why: 0 = the organization created the resource; otherwise the pk of the referral Task that shares it.
    source_pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(db.Integer(), "sqlite"), primary_key=True, autoincrement=False
    )

    def __repr__(self) -> str:
        return f"<FhirCompartment org={self.organization_id} pk={self.resource_pk} via={self.source_pk}>"


__all__ = ["FhirCompartment"]
