"""Password reset by a single-use, short-lived emailed link that carries nothing but the link (issue 3 scope 2)."""

from __future__ import annotations

import re
import secrets
import time
from email.message import EmailMessage
from pathlib import Path

from flask import Flask

from referral_hub.notify.email import OutboxDirectorySender
from tests.web.hub_testing import Seeded, csrf_token

LINK_RE = re.compile(r"http://localhost(/password/reset/[A-Za-z0-9_.\-]+)")


def _outbox(app: Flask) -> list[EmailMessage]:
    return OutboxDirectorySender(Path(app.config["EMAIL_OUTBOX_DIR"])).messages()


def _ask_for_link(app: Flask, email: str) -> str:
    client = app.test_client()
    response = client.post(
        "/password/forgot", data={"email": email, "csrf_token": csrf_token(client, "/password/forgot")}
    )
    assert response.status_code == 302
    messages = _outbox(app)
    assert messages
    match = LINK_RE.search(messages[-1].get_content())
    assert match
    return match.group(1)


def _choose(app: Flask, path: str, password: str) -> int:
    client = app.test_client()
    page = client.get(path)
    if page.status_code != 200:
        return page.status_code
    token = csrf_token(client, path)
    return client.post(path, data={"password": password, "confirm": password, "csrf_token": token}).status_code


def test_reset_link_works_once(hub_app: Flask, seeded: Seeded) -> None:
    account = seeded.accounts["cbo_admin"]
    path = _ask_for_link(hub_app, account.email.upper())
    new_password = secrets.token_urlsafe(16)
    assert _choose(hub_app, path, new_password) == 302
    assert _choose(hub_app, path, secrets.token_urlsafe(16)) == 404  # the same link is dead now
    client = hub_app.test_client()
    signed_in = client.post(
        "/login", data={"email": account.email, "password": new_password, "csrf_token": csrf_token(client)}
    )
    assert signed_in.status_code == 302


def test_reset_link_expires(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    sqlite_app.config["PASSWORD_RESET_MAX_AGE_S"] = 1
    path = _ask_for_link(sqlite_app, sqlite_seeded.accounts["cbo_staff"].email)
    time.sleep(2.1)
    client = sqlite_app.test_client()
    page = client.get(path)
    assert page.status_code == 404
    assert "This link does not work any more" in page.get_data(as_text=True)


def test_tampered_reset_link_is_refused(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    path = _ask_for_link(sqlite_app, sqlite_seeded.accounts["cbo_staff"].email)
    assert sqlite_app.test_client().get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404


def test_reset_mail_carries_only_the_link_and_unknown_addresses_get_the_same_answer(
    sqlite_app: Flask, sqlite_seeded: Seeded
) -> None:
    client = sqlite_app.test_client()
    token = csrf_token(client, "/password/forgot")
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org", "csrf_token": token})
    assert unknown.status_code == 302
    assert _outbox(sqlite_app) == []
    assert "If an account uses that address" in client.get(unknown.headers["Location"]).get_data(as_text=True)
    _ask_for_link(sqlite_app, sqlite_seeded.accounts["clinic_staff"].email)
    [message] = _outbox(sqlite_app)
    assert message["To"] == sqlite_seeded.accounts["clinic_staff"].email
    body = message.get_content()
    assert "Alvarez" not in body  # no patient data, no organization, no role
    assert "Riverside" not in body
    assert "clinic" not in body.lower()


def test_reset_mail_is_in_the_users_language(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    from referral_hub.accounts.models import User
    from referral_hub.extensions import db

    account = sqlite_seeded.accounts["program_manager"]
    with sqlite_app.app_context():
        db.session.get(User, account.user_id).locale = "es"  # type: ignore[union-attr]
        db.session.commit()
    _ask_for_link(sqlite_app, account.email)
    [message] = _outbox(sqlite_app)
    assert message["Subject"] == "Restablezca su contraseña de Referral Hub"
    assert "Para elegir una contraseña nueva" in message.get_content()
