"""Use cases for organizations and staff users; they flush, the caller (request, CLI command) commits.

An organization is written twice on purpose: as a row (memberships, roles, the policy module's compartments) and
as a US Core Organization in the FHIR store, because Tasks name their requester and owner by FHIR reference.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.accounts.models import (
    ORG_SLUG_SYSTEM,
    ORGANIZATION_KINDS,
    ROLES_BY_KIND,
    Membership,
    Organization,
    User,
)
from referral_hub.accounts.passwords import generate_one_time_password, hash_password
from referral_hub.db_types import utcnow
from referral_hub.security.principal import ROLES, Principal

US_CORE_ORGANIZATION = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class AccountError(ValueError):
    """A request the account rules refuse (bad kind, role not allowed for the organization, duplicate …)."""


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased: addresses are compared case-insensitively everywhere (unique column included)."""
    return email.strip().lower()


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:63] or "org"


def _local_bases() -> tuple[str, ...]:
    from flask import current_app, has_app_context

    return (current_app.config["FHIR_BASE_URL"],) if has_app_context() else ()


def organization_resource(name: str, slug: str, active: bool = True) -> dict[str, Any]:
    """The US Core Organization body for a hub organization (identifier = hub slug)."""
    return {
        "resourceType": "Organization",
        "meta": {"profile": [US_CORE_ORGANIZATION]},
        "identifier": [{"system": ORG_SLUG_SYSTEM, "value": slug}],
        "active": active,
        "name": name,
    }


def create_organization(
    session: Session, name: str, kind: str, slug: str | None = None, *, local_bases: Sequence[str] | None = None
) -> Organization:
    """Create a hub organization and its FHIR Organization resource.

    :raises AccountError: unknown kind, malformed or taken slug, empty name.
    """
    from referral_hub.fhir.store import ResourceStore

    name = name.strip()
    if not name:
        raise AccountError("organization name is empty")
    if kind not in ORGANIZATION_KINDS:
        raise AccountError(f"kind must be one of {', '.join(ORGANIZATION_KINDS)}")
    slug = slug.strip().lower() if slug else slugify(name)
    if not _SLUG_RE.match(slug):
        raise AccountError("slug must be lower-case letters, digits and dashes (at most 63)")
    if session.execute(select(Organization.id).where(Organization.slug == slug)).first():
        raise AccountError(f"an organization with slug {slug!r} exists")
    store = ResourceStore(session, local_bases if local_bases is not None else _local_bases())
    written = store.create(organization_resource(name, slug), workflow=False)
    organization = Organization(slug=slug, name=name, kind=kind, fhir_id=written.resource.resource_id)
    session.add(organization)
    session.flush()
    return organization


def find_organization(session: Session, key: str) -> Organization | None:
    """An organization by slug, or by numeric id."""
    organization = session.execute(select(Organization).where(Organization.slug == key.strip().lower())).scalar()
    if organization is None and key.isdigit():
        organization = session.get(Organization, int(key))
    return organization


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == normalize_email(email))).scalar()


def create_user(
    session: Session,
    email: str,
    org: Organization,
    role: str,
    *,
    display_name: str = "",
    locale: str | None = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user with one membership and return it with its one-time password.

    The password is random (unless given, e.g. by tests) and must be changed at first login; it is returned so the
    CLI can print it once, and is never stored or logged.

    :raises AccountError: malformed or taken email, unknown role, role not allowed for the organization's kind.
    """
    email = normalize_email(email)
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError("not a valid email address")
    check_role(org, role)
    if find_user_by_email(session, email) is not None:
        raise AccountError("a user with this email exists")
    one_time = password or generate_one_time_password()
    user = User(
        email=email,
        password_hash=hash_password(one_time),
        display_name=display_name.strip() or email.split("@", 1)[0],
        locale=locale,
        must_change_password=True,
    )
    user.memberships.append(Membership(organization=org, role=role))
    session.add(user)
    session.flush()
    return user, one_time


def check_role(org: Organization, role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if role not in ROLES_BY_KIND[org.kind]:
        raise AccountError(f"role {role} is not available in a {org.kind} organization")


def set_password(user: User, password: str) -> None:
    """Replace the password; ends every other session of the user (``session_epoch``)."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.session_epoch = (user.session_epoch or 0) + 1


@dataclass(frozen=True)
class ActiveMembership:
    """The organization a signed-in user acts for, and their roles there."""

    organization: Organization
    roles: frozenset[str]


def active_membership(user: User, organization_id: int | None = None) -> ActiveMembership | None:
    """The membership the session acts under: the requested organization, else the user's first one."""
    by_org: dict[int, list[Membership]] = {}
    for membership in sorted(user.memberships, key=lambda m: m.id or 0):
        if membership.organization.active:
            by_org.setdefault(membership.organization_id, []).append(membership)
    if not by_org:
        return None
    chosen = by_org.get(organization_id) if organization_id is not None else None
    memberships = chosen or next(iter(by_org.values()))
    return ActiveMembership(memberships[0].organization, frozenset(m.role for m in memberships))


def principal_for(user: User, membership: ActiveMembership | None) -> Principal:
    """The :class:`Principal` of a signed-in user (the policy module decides from it, not from the user row)."""
    if membership is None:
        return Principal(kind="user", id=str(user.id))
    return Principal(
        kind="user",
        id=str(user.id),
        organization_id=membership.organization.id,
        organization_ref=membership.organization.fhir_reference,
        roles=membership.roles,
    )


def record_login(user: User) -> None:
    user.last_login_at = utcnow()


__all__ = [
    "AccountError",
    "ActiveMembership",
    "active_membership",
    "check_role",
    "create_organization",
    "create_user",
    "find_organization",
    "find_user_by_email",
    "normalize_email",
    "organization_resource",
    "principal_for",
    "set_password",
    "slugify",
]
