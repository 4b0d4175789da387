"""Listing freshness (issue 5, scope 8): ask the contacts of stale listings "is this still correct?".

Flow:

1. ``directory.verify_stale`` (job; run daily by cron with ``referral-hub directory verify-stale``) finds active
   services whose ``assured_date`` is missing or older than ``DIRECTORY_STALE_AFTER_DAYS`` (180), picks every
   contact e-mail of the listing (service contacts, then the service e-mail, then the organization's contacts
   and e-mail), and for each address not asked within ``DIRECTORY_RESEND_AFTER_DAYS`` writes a
   :class:`ListingCheck` row and enqueues ``directory.send_listing_check`` with its id (jobs take ids only).
2. ``directory.send_listing_check`` e-mails (``referral_hub.notify.email``) two links — "still correct" and
   "needs changes" — carrying a signed token (itsdangerous, salted, expiring after
   ``DIRECTORY_VERIFY_LINK_DAYS``) that names the row.
3. The link opens a page with one button (``views.verify``). A GET never changes anything, because mail
   scanners open links; the button POSTs. "Still correct" sets ``assured_date`` to today and ``assurer_email``
   to the contact, and writes HSDS ``metadata`` change-log rows; "needs changes" keeps the contact's note for the
   directory administrator (``/directory/admin/checks``). Either answer stamps the row: the link is single-use.

The e-mails go to organization contacts and hold no patient data.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from referral_hub.db_types import utcnow
from referral_hub.directory.models import ListingCheck
from referral_hub.jobs import enqueue, job
from resource_directory.importer import EMAIL_RE, render_value
from resource_directory.models import Contact, MetadataEntry, Organization, Service, ServiceAtLocation

TOKEN_SALT = "referral-hub.directory.listing-check"  # noqa: S105  (a salt, not a secret)
CHUNK = 500


# ---------------------------------------------------------------------------------------------------------------
# Which listings, which contacts
# ---------------------------------------------------------------------------------------------------------------


def stale_service_ids(session: Session, today: date, stale_after_days: int) -> list[str]:
    """Active services never verified, or verified more than ``stale_after_days`` ago, in id order."""
    cutoff = today - timedelta(days=stale_after_days)
    statement = (
        select(Service.id)
        .where(Service.status == "active", or_(Service.assured_date.is_(None), Service.assured_date < cutoff))
        .order_by(Service.id)
    )
    return list(session.execute(statement).scalars())


def _usable(address: str | None) -> str | None:
    text = (address or "").strip()
    return text if text and EMAIL_RE.match(text) else None


def listing_contacts(session: Session, service_ids: list[str]) -> dict[str, list[str]]:
    """service id → the e-mail addresses to ask, most specific first, without duplicates (case-insensitive).

    The listing's own contacts (on the service or one of its service_at_locations) answer for it; when it has
    none, the service's e-mail; then the organization's contacts; then the organization's e-mail.
    """
    found: dict[str, list[str]] = {}
    for start in range(0, len(service_ids), CHUNK):
        chunk = service_ids[start : start + CHUNK]
        services = {s.id: s for s in session.execute(select(Service).where(Service.id.in_(chunk))).scalars()}
        sal_owner = dict(
            session.execute(
                select(ServiceAtLocation.id, ServiceAtLocation.service_id).where(
                    ServiceAtLocation.service_id.in_(chunk)
                )
            ).all()
        )
        own: dict[str, list[str]] = defaultdict(list)
        contact_rows = session.execute(
            select(Contact)
            .where(or_(Contact.service_id.in_(chunk), Contact.service_at_location_id.in_(list(sal_owner) or [""])))
            .order_by(Contact.id)
        ).scalars()
        for contact in contact_rows:
            owner = contact.service_id or sal_owner.get(contact.service_at_location_id or "")
            if owner and (email := _usable(contact.email)):
                own[owner].append(email)
        org_ids = sorted({s.organization_id for s in services.values()})
        org_contacts: dict[str, list[str]] = defaultdict(list)
        for contact in session.execute(
            select(Contact).where(Contact.organization_id.in_(org_ids)).order_by(Contact.id)
        ).scalars():
            if email := _usable(contact.email):
                org_contacts[contact.organization_id or ""].append(email)
        org_emails = dict(
            session.execute(select(Organization.id, Organization.email).where(Organization.id.in_(org_ids))).all()
        )
        for service_id in chunk:
            service = services[service_id]
            for candidates in (
                own.get(service_id, []),
                [e for e in [_usable(service.email)] if e],
                org_contacts.get(service.organization_id, []),
                [e for e in [_usable(org_emails.get(service.organization_id))] if e],
            ):
                if candidates:
                    unique: dict[str, str] = {}
                    for email in candidates:
                        unique.setdefault(email.lower(), email)
                    found[service_id] = list(unique.values())
                    break
    return found


def recently_asked(session: Session, service_ids: Iterable[str], since: datetime) -> set[tuple[str, str]]:
    """(service id, lower-case e-mail) pairs already asked since ``since``."""
    ids = list(service_ids)
    asked: set[tuple[str, str]] = set()
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(ListingCheck.service_id, ListingCheck.email).where(
                ListingCheck.service_id.in_(ids[start : start + CHUNK]), ListingCheck.created_at >= since
            )
        )
        asked.update((service_id, email.lower()) for service_id, email in rows)
    return asked


# ---------------------------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------------------------


@job("directory.verify_stale", queue="default")
def verify_stale(session: Session) -> None:
    """Create one check per (stale listing, contact) not asked recently and enqueue its e-mail. Idempotent."""
    config = current_app.config
    now = utcnow()
    today = now.date()
    stale = stale_service_ids(session, today, config["DIRECTORY_STALE_AFTER_DAYS"])
    contacts = listing_contacts(session, stale)
    asked = recently_asked(session, contacts, now - timedelta(days=config["DIRECTORY_RESEND_AFTER_DAYS"]))
    for service_id, emails in contacts.items():
        for email in emails:
            if (service_id, email.lower()) in asked:
                continue
            check = ListingCheck(service_id=service_id, email=email, created_at=now)
            session.add(check)
            session.flush()
            enqueue("directory.send_listing_check", session=session, check_id=check.id)


@job("directory.send_listing_check", queue="notifications")
def send_listing_check(session: Session, *, check_id: int) -> None:
    """E-mail one check's links; a re-run after success sends nothing (``sent_at`` is set in the same commit)."""
    from referral_hub.notify.email import send_email

    check = session.get(ListingCheck, check_id)
    if check is None or check.sent_at is not None or check.answered_at is not None:
        return
    service = session.get(Service, check.service_id)
    if service is None:
        return
    organization = session.get(Organization, service.organization_id)
    token = make_token(check.id)
    base = current_app.config["BASE_URL"].rstrip("/")
    link = f"{base}/directory/verify/{token}"
    days = current_app.config["DIRECTORY_VERIFY_LINK_DAYS"]
    listing = service.name + (f" ({organization.name})" if organization is not None else "")
    # Bilingual (the contact's language is unknown); no patient data, only the listing and the links.
    text = "\n".join(
        [
            f"Is this listing still correct? / ¿Sigue siendo correcta esta información?\n\n{listing}\n",
            f"Yes, still correct / Sí, sigue siendo correcta:\n{link}?answer=confirmed\n",
            f"No, it needs changes / No, necesita cambios:\n{link}?answer=needs_changes\n",
            f"Referral staff use this listing to send people to you. The links work for {days} days, once.",
            f"El personal de referidos usa esta información para enviarle personas. Los enlaces sirven {days} días,"
            " una sola vez.",
        ]
    )
    send_email(check.email, f"Please check your listing: {service.name}", text)
    check.sent_at = utcnow()


# ---------------------------------------------------------------------------------------------------------------
# Links and answers
# ---------------------------------------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def make_token(check_id: int) -> str:
    return _serializer().dumps({"c": check_id})


class LinkProblem(Exception):
    """A verification link that cannot be used: ``reason`` is ``invalid``, ``expired`` or ``used``."""

    def __init__(self, reason: str, check: ListingCheck | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.check = check


def check_for_token(session: Session, token: str, *, allow_used: bool = False) -> ListingCheck:
    """The unanswered check a token names.

    :raises LinkProblem: ``invalid`` (bad signature, unknown row), ``expired`` or ``used`` (already answered).
    """
    max_age = current_app.config["DIRECTORY_VERIFY_LINK_DAYS"] * 86400
    try:
        payload: Any = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkProblem("expired") from None
    except BadSignature:
        raise LinkProblem("invalid") from None
    check_id = payload.get("c") if isinstance(payload, dict) else None
    check = session.get(ListingCheck, check_id) if isinstance(check_id, int) else None
    if check is None:
        raise LinkProblem("invalid")
    if check.answered_at is not None and not allow_used:
        raise LinkProblem("used", check)
    return check


@dataclass(frozen=True)
class Answer:
    check: ListingCheck
    service: Service | None
    assured_date: date | None


def _log_change(session: Session, service: Service, field: str, old: Any, new: Any, who: str, today: date) -> None:
    """One HSDS ``metadata`` change-log row, as the importer writes them."""
    if old == new:
        return
    session.add(
        MetadataEntry(
            id=str(uuid.uuid4()),
            resource_id=service.id,
            resource_type="service",
            last_action_date=today,
            last_action_type="update",
            field_name=field,
            previous_value=render_value(old),
            replacement_value=render_value(new),
            updated_by=who,
        )
    )


def answer_check(session: Session, check: ListingCheck, answer: str, note: str | None = None) -> Answer:
    """Record the contact's answer (the caller commits). Confirming verifies the listing today.

    :raises LinkProblem: ``used`` when the row was answered meanwhile (checked under the row lock on PostgreSQL).
    """
    if answer not in ("confirmed", "needs_changes"):
        raise ValueError("answer must be confirmed or needs_changes")
    locked = session.execute(select(ListingCheck).where(ListingCheck.id == check.id).with_for_update()).scalar_one()
    if locked.answered_at is not None:
        raise LinkProblem("used", locked)
    now = utcnow()
    locked.answered_at, locked.answer = now, answer
    service = session.get(Service, locked.service_id)
    if answer == "needs_changes":
        locked.note = (note or "").strip()[:4000] or None
        return Answer(locked, service, service.assured_date if service else None)
    if service is not None:
        today = now.date()
        who = f"listing-check:{locked.email}"
        _log_change(session, service, "assured_date", service.assured_date, today, who, today)
        _log_change(session, service, "assurer_email", service.assurer_email, locked.email, who, today)
        service.assured_date = today
        service.assurer_email = locked.email
        service.last_modified = now.replace(tzinfo=None)  # the model stores naive UTC
    return Answer(locked, service, service.assured_date if service else None)


__all__ = [
    "Answer",
    "LinkProblem",
    "ListingCheck",
    "answer_check",
    "check_for_token",
    "listing_contacts",
    "make_token",
    "recently_asked",
    "send_listing_check",
    "stale_service_ids",
    "verify_stale",
]
