"""Demo accounts: one clinic, two CBOs and one program organization, and a user for every role.

Passwords are random on every run and returned once (``referral-hub demo`` prints them); nothing here is a fixed
secret. Re-running is safe: existing organizations and users are reused and get a fresh one-time password.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.accounts.models import Membership, Organization, User
from referral_hub.accounts.passwords import generate_one_time_password, hash_password
from referral_hub.accounts.services import create_organization, create_user, find_user_by_email

#: (slug, name, kind)
DEMO_ORGANIZATIONS = (
    ("demo-clinic", "Riverside Community Clinic", "clinic"),
    ("demo-food-bank", "Northside Food Bank", "cbo"),
    ("demo-housing", "Eastside Housing Help", "cbo"),
    ("demo-program", "County Social Care Program", "program"),
)

#: (email, organization slug, role, display name); ``.invalid`` addresses can never receive mail (RFC 2606).
DEMO_USERS = (
    ("clinic.staff@demo.invalid", "demo-clinic", "clinic_staff", "Casey Clinic"),
    ("foodbank.staff@demo.invalid", "demo-food-bank", "cbo_staff", "Frankie Foodbank"),
    ("foodbank.admin@demo.invalid", "demo-food-bank", "cbo_admin", "Alex Admin"),
    ("housing.staff@demo.invalid", "demo-housing", "cbo_staff", "Harper Housing"),
    ("program.manager@demo.invalid", "demo-program", "program_manager", "Morgan Manager"),
    ("hub.admin@demo.invalid", "demo-program", "admin", "Ari Administrator"),
)


@dataclass(frozen=True)
class DemoLogin:
    """One demo account to print: sign in with ``email`` and ``password`` (changed at first sign-in)."""

    email: str
    password: str
    role: str
    organization: str


def seed_demo_accounts(session: Session) -> list[DemoLogin]:
    """Create (or refresh) the demo organizations and users; the caller commits and prints the result once."""
    bases = (current_app.config["FHIR_BASE_URL"],) if has_app_context() else ()
    organizations: dict[str, Organization] = {}
    for slug, name, kind in DEMO_ORGANIZATIONS:
        existing = session.execute(select(Organization).where(Organization.slug == slug)).scalar()
        organizations[slug] = existing or create_organization(session, name, kind, slug, local_bases=bases)
    logins = []
    for email, slug, role, display_name in DEMO_USERS:
        organization = organizations[slug]
        user = find_user_by_email(session, email)
        if user is None:
            user, password = create_user(session, email, organization, role, display_name=display_name)
        else:
            password = _reset_demo_user(session, user, organization, role)
        logins.append(DemoLogin(email=user.email, password=password, role=role, organization=organization.name))
    session.flush()
    return logins


def _reset_demo_user(session: Session, user: User, organization: Organization, role: str) -> str:
    password = generate_one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.active = True
    user.session_epoch = (user.session_epoch or 0) + 1
    if not any(m.organization_id == organization.id and m.role == role for m in user.memberships):
        session.add(Membership(user=user, organization=organization, role=role))
    return password
