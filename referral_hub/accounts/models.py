"""Organizations, staff users and their memberships (issue 3, scope 1).

Every hub organization is also a FHIR ``Organization`` in the store (``fhir_id``): Tasks name organizations by
FHIR reference (requester, owner), so the policy module maps a FHIR reference back to the hub organization
through this column. A user acts for an organization through a ``Membership`` carrying one role of
:data:`referral_hub.security.principal.ROLES`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.db_types import UTCDateTime, utcnow
from referral_hub.extensions import db
from referral_hub.security.principal import ROLES

#: Organization kinds: a clinic refers, a CBO serves, a program (coordination platform, payer) oversees.
ORGANIZATION_KINDS = ("clinic", "cbo", "program")

#: Roles a member of each kind of organization may hold; ``admin`` (hub operator) may belong to any.
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {
    "clinic": ("clinic_staff", "admin"),
    "cbo": ("cbo_staff", "cbo_admin", "admin"),
    "program": ("program_manager", "admin"),
}


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Organization(db.Model):
    """A clinic, community-based organization or program taking part in the hub."""

    __tablename__ = "organization"
    __table_args__ = (CheckConstraint(_in_list("kind", ORGANIZATION_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Stable, URL-safe short name; also the FHIR ``Organization.identifier`` value (system :data:`ORG_SLUG_SYSTEM`).
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    #: Logical id of the organization's FHIR ``Organization`` resource (``Organization/<fhir_id>``).
    fhir_id: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organization")

    @property
    def fhir_reference(self) -> str:
        return f"Organization/{self.fhir_id}"

    def __repr__(self) -> str:
        return f"<Organization {self.slug} ({self.kind})>"


class User(db.Model):
    """A staff member who signs in to the web UI (API clients are separate, see issue 3 scope 3)."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Always stored lower-case (``services.normalize_email``) so uniqueness is case-insensitive on every engine.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: A self-describing KDF hash (argon2id ``$argon2id$…``); never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    #: Preferred UI language (``en``/``es``); None means "follow the browser".
    locale: Mapped[str | None] = mapped_column(String(16))
    #: IANA time zone for displayed dates; None means the hub default.
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: Base32 TOTP secret once enrolment is confirmed (None: no second factor).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: Last accepted TOTP time step, so one code cannot be replayed within its validity window.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Set for one-time passwords (CLI, demo): the next login must choose a new password before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of the login session's user id: raising it (logout, password change) ends every existing session,
    #: which a signed cookie alone cannot do.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(m.role for m in self.memberships)

    # Flask-Login's user protocol. The login id carries ``session_epoch`` so that raising it ends old sessions.
    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch or 0}"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def __repr__(self) -> str:
        return f"<User id={self.id}>"  # never the email (logs must not carry it)


class Membership(db.Model):
    """``user`` acts for ``organization`` with ``role``."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "organization_id", "role", name="uq_membership_user_org_role"),
        CheckConstraint(_in_list("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships")

    def __repr__(self) -> str:
        return f"<Membership user={self.user_id} org={self.organization_id} role={self.role}>"


#: Identifier system of ``Organization.identifier`` carrying the hub slug.
ORG_SLUG_SYSTEM = "urn:referral-hub:organization"

__all__ = ["ORGANIZATION_KINDS", "ORG_SLUG_SYSTEM", "ROLES_BY_KIND", "Membership", "Organization", "User"]
