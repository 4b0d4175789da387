"""``audit_event``: the append-only audit log (issue 3, scope 5).

One narrow row per audited act: who (principal kind/id and organization), what (resource type/id/version and
the patient it concerns), the action in FHIR AuditEvent terms (C/R/U/D/E, search = E), the outcome (FHIR
AuditEvent outcome codes 0/4/8/12), when, from where and in which request. Rows are never updated or deleted:
the code has no path for it, and database triggers (migration ``0005_api_auth_audit``) reject UPDATE and DELETE
on SQLite and PostgreSQL alike. The table has no foreign keys, so deleting an organization, user or resource can
never cascade into the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db_types import BigIntPK, UTCDateTime, utcnow
from referral_hub.extensions import db

#: FHIR AuditEvent.action codes.
ACTIONS = ("C", "R", "U", "D", "E")
#: FHIR AuditEvent.outcome codes: success, minor failure (refused / bad request), serious failure, major failure.
OUTCOMES = ("0", "4", "8", "12")


class AuditEventRow(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_recorded_at", "recorded_at"),
        Index("ix_audit_event_patient_recorded", "patient_ref", "recorded_at"),
        Index("ix_audit_event_principal_recorded", "principal_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: ``rest`` (FHIR API), ``login``, ``token``, ``export`` … (AuditEvent.type), and the FHIR interaction or event
    #: name (AuditEvent.subtype): read, vread, history-instance, search-type, create, update, login, logout …
    event_type: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(1))
    outcome: Mapped[str] = mapped_column(String(2), default="0")
    outcome_desc: Mapped[str | None] = mapped_column(String(255))
    principal_kind: Mapped[str] = mapped_column(String(16))
    principal_id: Mapped[str] = mapped_column(String(128))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    resource_type: Mapped[str | None] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    version_id: Mapped[int | None] = mapped_column(Integer)
    #: ``Patient/<id>`` the act concerns (never a name): what "who looked at this patient" searches use.
    patient_ref: Mapped[str | None] = mapped_column(String(128))
    #: Search parameter *names* only (values may be names or birth dates), e.g. ``patient,status``.
    query: Mapped[str | None] = mapped_column(String(512))
    source_address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.subtype} outcome={self.outcome}>"


__all__ = ["ACTIONS", "OUTCOMES", "AuditEventRow"]
