"""Listing freshness (issue 5 scope 8) end to end: stale listing → e-mail in the offline outbox → the link confirms →
``assured_date`` updated with the HSDS change log; the link cannot be used twice; "needs changes" reaches the admin."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from referral_hub.notify.email import OutboxDirectorySender
from tests.directory.directory_testing import add_listing
from tests.web.hub_testing import CSRF_RE, login, seed

LINK_RE = re.compile(r"(http://localhost/directory/verify/[A-Za-z0-9_.\-]+)\?answer=(confirmed|needs_changes)")


def _outbox(app: Flask) -> list[EmailMessage]:
    return OutboxDirectorySender(Path(app.config["EMAIL_OUTBOX_DIR"])).messages()


def _run_verify_stale(app: Flask) -> None:
    """What cron runs: the command enqueues the job; without Redis it runs in-process after the commit."""
    result = app.test_cli_runner().invoke(args=["directory", "verify-stale"])
    assert result.exit_code == 0, result.output


def _links(message: EmailMessage) -> dict[str, str]:
    body = message.get_content()
    return {answer: link for link, answer in LINK_RE.findall(body)}


def _answer(client: FlaskClient, link: str, answer: str, note: str = "") -> tuple[int, str]:
    page = client.get(f"{link}?answer={answer}")
    assert page.status_code == 200
    token = CSRF_RE.search(page.get_data(as_text=True))
    assert token
    response = client.post(link, data={"csrf_token": token.group(1), "answer": answer, "note": note})
    return response.status_code, response.get_data(as_text=True)


def test_stale_listing_gets_an_email_whose_link_confirms_it_once(fresh_app: Flask) -> None:
    from referral_hub.directory.models import ListingCheck
    from referral_hub.extensions import db
    from resource_directory.models import MetadataEntry, Service

    stale = add_listing(fresh_app, name="Eastside Pantry", assured=date.today() - timedelta(days=400))
    fresh = add_listing(fresh_app, name="Westside Pantry", contact_email="w@west.example.org", assured=date.today())
    never = add_listing(fresh_app, name="Northside Pantry", contact_email="n@north.example.org", assured=None)
    _run_verify_stale(fresh_app)

    messages = _outbox(fresh_app)
    assert sorted(m["To"] for m in messages) == ["listings@eastside.example.org", "n@north.example.org"]
    message = next(m for m in messages if m["To"] == "listings@eastside.example.org")
    assert "Eastside Pantry" in message["Subject"]
    links = _links(message)
    assert set(links) == {"confirmed", "needs_changes"}
    assert links["confirmed"] == links["needs_changes"]  # one token; the answer is chosen on the page

    client = fresh_app.test_client()
    # Opening the link (as a mail scanner would) changes nothing.
    assert client.get(links["confirmed"]).status_code == 200
    with fresh_app.app_context():
        assert db.session.get(Service, stale.service_id).assured_date == date.today() - timedelta(days=400)  # type: ignore[union-attr]

    status, page = _answer(client, links["confirmed"], "confirmed")
    assert status == 200
    assert 'data-testid="verify-result"' in page
    with fresh_app.app_context():
        service = db.session.get(Service, stale.service_id)
        assert service is not None
        assert service.assured_date == datetime.now(UTC).date()
        assert service.assurer_email == "listings@eastside.example.org"
        log = db.session.execute(
            select(MetadataEntry.field_name, MetadataEntry.updated_by).where(
                MetadataEntry.resource_id == stale.service_id
            )
        ).all()
        assert {name for name, _ in log} == {"assured_date", "assurer_email"}
        assert all(who == "listing-check:listings@eastside.example.org" for _, who in log)
        check = db.session.execute(select(ListingCheck).where(ListingCheck.service_id == stale.service_id)).scalar_one()
        assert check.answer == "confirmed"

    # The link is single-use: reusing it is refused and changes nothing.
    again = client.get(links["confirmed"])
    assert again.status_code == 410
    assert "already used" in again.get_data(as_text=True)
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True))
    assert token
    reuse = client.post(links["confirmed"], data={"csrf_token": token.group(1), "answer": "needs_changes"})
    assert reuse.status_code == 410
    with fresh_app.app_context():
        assert db.session.execute(select(ListingCheck.answer)).scalars().all().count("needs_changes") == 0

    # The next run asks nobody again: Eastside is fresh now and Northside was asked recently.
    _run_verify_stale(fresh_app)
    assert len(_outbox(fresh_app)) == 2
    del fresh, never


def test_needs_changes_keeps_the_note_for_the_directory_admin(fresh_app: Flask) -> None:
    add_listing(fresh_app, name="Southside Shelter", contact_email="desk@south.example.org")
    _run_verify_stale(fresh_app)
    (message,) = _outbox(fresh_app)
    link = _links(message)["needs_changes"]
    status, _ = _answer(fresh_app.test_client(), link, "needs_changes", "We moved to 5 Oak St")
    assert status == 200
    seeded = seed(fresh_app)
    admin = fresh_app.test_client()
    login(fresh_app, admin, seeded.accounts["admin"])
    page = admin.get("/directory/admin/checks").get_data(as_text=True)
    assert "Southside Shelter" in page
    assert "We moved to 5 Oak St" in page
    assert "desk@south.example.org" in page


def test_forged_and_expired_links_are_refused(fresh_sqlite_app: Flask) -> None:
    add_listing(fresh_sqlite_app)
    _run_verify_stale(fresh_sqlite_app)
    (message,) = _outbox(fresh_sqlite_app)
    link = _links(message)["confirmed"]
    client = fresh_sqlite_app.test_client()
    forged = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    assert client.get(forged).status_code == 404
    fresh_sqlite_app.config["DIRECTORY_VERIFY_LINK_DAYS"] = 1
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from referral_hub.directory.freshness import TOKEN_SALT

    class _SignedTwoDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int((datetime.now(UTC) - timedelta(days=2)).timestamp())

    signer = URLSafeTimedSerializer(fresh_sqlite_app.config["SECRET_KEY"], salt=TOKEN_SALT, signer=_SignedTwoDaysAgo)
    old = signer.dumps({"c": 1})
    expired = client.get(f"/directory/verify/{old}")
    assert expired.status_code == 404
    assert "expired" in expired.get_data(as_text=True)


def test_listings_without_any_contact_email_are_skipped(fresh_sqlite_app: Flask) -> None:
    add_listing(fresh_sqlite_app, contact_email=None)
    _run_verify_stale(fresh_sqlite_app)
    assert _outbox(fresh_sqlite_app) == []
