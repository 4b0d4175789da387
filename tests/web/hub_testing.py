"""Helpers shared by ``tests/web`` and ``tests/accounts``: a migrated hub app, seeded accounts, a login helper.

Everything is real: the schema comes from the Alembic migrations, passwords go through argon2, CSRF is on, the
TOTP codes are computed like an authenticator app does. Passwords are random per test run (no fixed secrets).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

REQUIRE_SERVICES = os.environ.get("REFERRAL_HUB_REQUIRE_SERVICES") == "1"
POSTGRES_SERVER = os.environ.get("REFERRAL_HUB_TEST_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
#: This feature's own PostgreSQL database (never the shared ``test`` one).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
POSTGRES_DB = "referral_hub_i3a" + (f"_{_WORKER}" if _WORKER else "")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

ROLE_ORG = {
    "clinic_staff": "clinic",
    "cbo_staff": "cbo-a",
    "cbo_admin": "cbo-a",
    "program_manager": "program",
    "admin": "program",
}


def service_missing(service: str, reason: str) -> None:
    message = f"{service} is not available: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (REFERRAL_HUB_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def make_app(database_url: str, tmp_path: Path, **overrides: Any) -> Flask:
    from referral_hub.app import create_app

    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "http://localhost",
        "FHIR_BASE_URL": "http://localhost/fhir",
        "REDIS_URL": None,
        "EMAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "SMTP_URL": None,
    }
    config.update(overrides)
    return create_app(config, environ={"REFERRAL_HUB_ENV": "testing"})


def migrate(url: str, tmp_path: Path) -> None:
    from flask_migrate import upgrade

    app = make_app(url, tmp_path)
    with app.app_context():
        upgrade()
        from referral_hub.extensions import db

        db.engine.dispose()


def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This feature's PostgreSQL database, created if missing, emptied and migrated."""
    server = sa.engine.make_url(POSTGRES_SERVER)
    try:
        admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": POSTGRES_DB}).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{POSTGRES_DB}"'))
        admin.dispose()
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    url = server.set(database=POSTGRES_DB).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(url, tmp_path_factory.mktemp("pg-migrate"))
    return url


def truncate_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def sqlite_copy(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "hub.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@dataclass
class Account:
    email: str
    password: str
    role: str
    user_id: int
    totp_secret: str | None = None


@dataclass
class Seeded:
    organizations: dict[str, Any] = field(default_factory=dict)  # key -> (id, slug, fhir_id)
    accounts: dict[str, Account] = field(default_factory=dict)  # role -> account
    patients: dict[str, str] = field(default_factory=dict)  # key -> Patient id


def seed(app: Flask) -> Seeded:
    """Four organizations, one active user per role (password already chosen), the admin with TOTP, two patients."""
    from referral_hub.accounts import totp
    from referral_hub.accounts.services import create_organization, create_user
    from referral_hub.extensions import db
    from referral_hub.fhir.store import ResourceStore
    from referral_hub.security.principal import Principal, set_current_principal

    seeded = Seeded()
    with app.app_context():
        orgs = {
            "clinic": create_organization(db.session, "Riverside Clinic", "clinic", "clinic"),
            "cbo-a": create_organization(db.session, "Food Bank A", "cbo", "cbo-a"),
            "cbo-b": create_organization(db.session, "Housing B", "cbo", "cbo-b"),
            "program": create_organization(db.session, "County Program", "program", "program"),
            "clinic-2": create_organization(db.session, "Other Clinic", "clinic", "clinic-2"),
        }
        for role, org_key in ROLE_ORG.items():
            password = secrets.token_urlsafe(16)
            user, _ = create_user(
                db.session, f"{role.replace('_', '.')}@example.org", orgs[org_key], role, password=password
            )
            user.must_change_password = False
            secret = None
            if role == "admin":
                secret = user.totp_secret = totp.new_secret()
            db.session.flush()
            seeded.accounts[role] = Account(user.email, password, role, user.id, secret)
        store = ResourceStore(db.session, (app.config["FHIR_BASE_URL"],))
        for key, org_key, family in (("own", "clinic", "Alvarez"), ("other", "clinic-2", "Okafor")):
            # Created as the clinic acts (the policy grants the creator's compartment) and managed by it.
            creator = Principal(
                kind="user", id="seed", organization_id=orgs[org_key].id, organization_ref=orgs[org_key].fhir_reference
            )
            body = {
                "resourceType": "Patient",
                "name": [{"use": "official", "family": family, "given": ["Maria"]}],
                "birthDate": "1980-02-03",
                "gender": "female",
                "communication": [{"language": {"coding": [{"code": "es"}], "text": "Spanish"}, "preferred": True}],
                "managingOrganization": {"reference": orgs[org_key].fhir_reference},
            }
            with app.test_request_context():
                set_current_principal(creator)
                seeded.patients[key] = store.create(body, workflow=False).resource.resource_id
        seeded.organizations = {k: (o.id, o.slug, o.fhir_id) for k, o in orgs.items()}
        db.session.commit()
    return seeded


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def next_totp_code(app: Flask, user_id: int, secret: str) -> str:
    """A code the server will accept now: the authenticator's, skipping steps already used (replay guard)."""
    from referral_hub.accounts import totp
    from referral_hub.accounts.models import User
    from referral_hub.extensions import db

    with app.app_context():
        last = db.session.get(User, user_id).totp_last_step  # type: ignore[union-attr]
        db.session.remove()
    while True:
        current = int(time.time()) // totp.STEP_SECONDS
        for step in (current - 1, current, current + 1):
            if last is None or step > last:
                return totp.code_for(secret, step * totp.STEP_SECONDS)
        time.sleep(1)


def _alerts(page: str) -> list[str]:
    return re.findall(r'class="usa-alert__text">([^<]*)<', page) or [page[:300]]


def login(app: Flask, client: FlaskClient, account: Account) -> None:
    """Sign in through the real forms (password, then the TOTP step when the account has one)."""
    response = client.post(
        "/login", data={"email": account.email, "password": account.password, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302, _alerts(response.get_data(as_text=True))
    if response.headers["Location"].endswith("/login/verify"):
        assert account.totp_secret
        token = csrf_token(client, "/login/verify")
        code = next_totp_code(app, account.user_id, account.totp_secret)
        response = client.post("/login/verify", data={"code": code, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert not response.headers["Location"].startswith("/login"), response.headers["Location"]
