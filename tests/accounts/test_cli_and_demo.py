"""``referral-hub orgs create`` / ``users create`` and the demo accounts (issue 3 scope 1 and 8)."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from referral_hub.accounts.demo import DEMO_USERS, seed_demo_accounts
from referral_hub.accounts.models import Membership, Organization, User
from referral_hub.extensions import db
from referral_hub.fhir.store import ResourceStore
from tests.web.hub_testing import csrf_token


def test_orgs_create_writes_the_row_and_a_us_core_organization(hub_app: Flask) -> None:
    runner = hub_app.test_cli_runner()
    result = runner.invoke(args=["orgs", "create", "--name", "Ñandú Food Pantry", "--kind", "cbo"])
    assert result.exit_code == 0, result.output
    assert "nandu-food-pantry" in result.output
    with hub_app.app_context():
        org = db.session.execute(select(Organization)).scalar_one()
        body = ResourceStore(db.session, ()).read("Organization", org.fhir_id).body
    assert body["name"] == "Ñandú Food Pantry"
    assert body["active"] is True
    assert body["identifier"][0]["value"] == "nandu-food-pantry"
    assert "us-core-organization" in body["meta"]["profile"][0]
    duplicate = runner.invoke(
        args=["orgs", "create", "--name", "Other", "--kind", "cbo", "--slug", "nandu-food-pantry"]
    )
    assert duplicate.exit_code != 0
    assert "exists" in duplicate.output


def test_users_create_prints_a_one_time_password_that_works_once_changed(hub_app: Flask) -> None:
    runner = hub_app.test_cli_runner()
    assert runner.invoke(args=["orgs", "create", "--name", "Clinic", "--kind", "clinic", "--slug", "c1"]).exit_code == 0
    result = runner.invoke(
        args=["users", "create", "--email", "Nurse@Example.org", "--org", "c1", "--role", "clinic_staff"]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"first sign-in\): (\S+)", result.output).group(1)  # type: ignore[union-attr]
    assert len(password) >= 20
    with hub_app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.email == "nurse@example.org"
        assert user.must_change_password
        assert password not in user.password_hash
    client = hub_app.test_client()
    response = client.post(
        "/login", data={"email": "nurse@example.org", "password": password, "csrf_token": csrf_token(client)}
    )
    assert response.headers["Location"] == "/account/password"


def test_users_create_refuses_a_role_the_organization_kind_does_not_have(hub_app: Flask) -> None:
    runner = hub_app.test_cli_runner()
    runner.invoke(args=["orgs", "create", "--name", "Pantry", "--kind", "cbo", "--slug", "p1"])
    result = runner.invoke(
        args=["users", "create", "--email", "a@example.org", "--org", "p1", "--role", "clinic_staff"]
    )
    assert result.exit_code != 0
    assert "not available in a cbo organization" in result.output
    missing = runner.invoke(
        args=["users", "create", "--email", "a@example.org", "--org", "nope", "--role", "cbo_staff"]
    )
    assert missing.exit_code != 0


def test_demo_accounts_cover_every_role_with_fresh_random_passwords(hub_app: Flask) -> None:
    with hub_app.app_context():
        first = seed_demo_accounts(db.session)
        db.session.commit()
        second = seed_demo_accounts(db.session)  # idempotent: same people, new passwords
        db.session.commit()
        kinds = sorted(db.session.execute(select(Organization.kind)).scalars())
        roles = set(db.session.execute(select(Membership.role)).scalars())
        users = db.session.execute(select(User)).scalars().all()
    assert kinds == ["cbo", "cbo", "clinic", "program"]
    assert roles == {"clinic_staff", "cbo_staff", "cbo_admin", "program_manager", "admin"}
    assert len(users) == len(DEMO_USERS) == len(first)
    assert len({login.password for login in first + second}) == 2 * len(first)
    clinic = next(login for login in second if login.role == "clinic_staff")
    client = hub_app.test_client()
    stale = client.post(
        "/login", data={"email": clinic.email, "password": first[0].password, "csrf_token": csrf_token(client)}
    )
    assert stale.status_code == 200
    fresh = client.post(
        "/login", data={"email": clinic.email, "password": clinic.password, "csrf_token": csrf_token(client)}
    )
    assert fresh.headers["Location"] == "/account/password"
