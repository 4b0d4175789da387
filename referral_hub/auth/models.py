"""Registered API clients (SMART Backend Services) and the replay store for client-assertion ``jti`` values.

A client belongs to exactly one hub organization and acts for it: its compartment is that organization's
(``referral_hub.policy``), and its scopes cap what it may do per FHIR interaction. Only clients of a ``program``
organization may hold ``all_compartments`` (integration engines, data migration); that lifts the compartment
limit but never the scopes (issue 3, scope 3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db_types import JSONDocument, UTCDateTime, utcnow
from referral_hub.extensions import db


class ApiClient(db.Model):
    """One registered system client.

    ``secret_hash`` is set for ``client_secret_basic`` clients, ``jwks`` for ``private_key_jwt`` clients (the
    public keys only). ``scopes`` is the space-separated set of SMART system scopes the client may be granted.
    """

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    #: ``sha256$<hex>`` of a 256-bit random secret (see ``client_secrets.py`` for why not a slow KDF).
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    #: The registered JSON Web Key Set (public keys) for ``private_key_jwt``.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    scopes: Mapped[str] = mapped_column(String(2048))
    all_compartments: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def __repr__(self) -> str:
        return f"<ApiClient {self.client_id} org={self.organization_id}>"


class UsedAssertionId(db.Model):
    """A client assertion ``jti`` already accepted; kept until the assertion would have expired anyway.

    Used only when Redis is not configured. The primary key makes the check-and-remember one atomic INSERT on
    every engine: a second use of the same ``jti`` by the same client fails on the key.
    """

    __tablename__ = "oauth_used_jti"
    __table_args__ = (Index("ix_oauth_used_jti_expires_at", "expires_at"),)

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = ["ApiClient", "UsedAssertionId"]
