"""Authorization matrix: every UI route × every role (and anonymous), on SQLite and PostgreSQL.

Three layers: (1) every UI route declares who may open it (``hub_access``), so a new page cannot ship without a
rule; (2) the declarations of the shell's and the accounts' routes equal the table below, written out by hand from
issue 3 (a wrong decorator fails here); (3) each route is requested by each role and the answer must match:
allowed → 200 (302 for form posts and multi-step flows), denied → 403, anonymous → redirect to the login page.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from referral_hub.accounts.setup import is_api_path
from referral_hub.security.principal import ROLES
from referral_hub.web.access import access_of, may_open
from tests.web.hub_testing import Seeded, csrf_token, login

ANY = "authenticated"
PUBLIC = "public"

#: The rule of each route of the shell and accounts (issue 3 scope 2 and 6; "clinic users see their clinic's patients").
EXPECTED_ACCESS: dict[str, Any] = {
    "web.home": ANY,
    "web.set_language": PUBLIC,
    "web.patients": frozenset({"clinic_staff"}),
    "web.patient": frozenset({"clinic_staff"}),
    "web.admin_accounts": frozenset({"admin"}),
    "accounts.login": PUBLIC,
    "accounts.login_verify": PUBLIC,
    "accounts.login_enrol": PUBLIC,
    "accounts.login_enrol_qr": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.account": ANY,
    "accounts.change_password": ANY,
    "accounts.totp_enrol": ANY,
    "accounts.totp_qr": ANY,
    "accounts.totp_remove": ANY,
    "accounts.forgot_password": PUBLIC,
    "accounts.reset_password": PUBLIC,
}

#: Not UI pages: static files and the load balancer's probes.
NON_UI_ENDPOINTS = {"static", "ops.healthz", "ops.readyz"}

#: Answers of an allowed request that are not 200: form posts redirect; the sign-in steps send a visitor without a
#: pending sign-in back to the login page; a signed-in user opening the login page is sent home.
ALLOWED_REDIRECTS = {
    "web.set_language",
    "accounts.logout",
    "accounts.totp_remove",
    "accounts.login_verify",
    "accounts.login_enrol",
    "accounts.login_enrol_qr",
    "accounts.login",
}

#: Business rules on top of access: an admin may not turn off the second factor their role requires.
SPECIAL: dict[tuple[str, str], int] = {("accounts.totp_remove", "admin"): 403}


def ui_rules(app: Flask) -> list[Any]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in NON_UI_ENDPOINTS and not is_api_path(rule.rule)
    ]


def _url(app: Flask, rule: Any, seeded: Seeded) -> str:
    values: dict[str, str] = {}
    for argument in rule.arguments:
        if argument == "patient_id":
            values[argument] = seeded.patients["own"]
        elif argument == "service_id":
            values[argument] = _directory_listing(app)[0]
        elif argument == "token" and rule.endpoint == "directory.verify":
            values[argument] = _directory_listing(app)[1]
        elif argument == "token":
            from referral_hub.accounts.models import User
            from referral_hub.accounts.reset import make_token
            from referral_hub.extensions import db

            with app.test_request_context():
                values[argument] = make_token(db.session.get(User, seeded.accounts["cbo_staff"].user_id))
        else:
            values[argument] = "x"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _directory_listing(app: Flask) -> tuple[str, str]:
    """A real directory service and a live listing-check token for it (made once per app)."""
    cached = app.config.get("TEST_DIRECTORY_LISTING")
    if cached is None:
        from referral_hub.directory.freshness import make_token
        from referral_hub.directory.models import ListingCheck
        from referral_hub.extensions import db
        from tests.directory.directory_testing import add_listing

        listing = add_listing(app)
        with app.app_context():
            check = ListingCheck(service_id=listing.service_id, email="listings@eastside.example.org")
            db.session.add(check)
            db.session.commit()
            with app.test_request_context():
                token = make_token(check.id)
            db.session.remove()
        cached = app.config["TEST_DIRECTORY_LISTING"] = (listing.service_id, token)
    return cached


def _request(client: FlaskClient, rule: Any, url: str) -> Any:
    if "GET" in rule.methods:
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client, "/password/forgot"), "lang": "es", "next": "/"})


def test_every_ui_route_declares_its_access(hub_app: Flask) -> None:
    undeclared = [rule.rule for rule in ui_rules(hub_app) if access_of(hub_app.view_functions[rule.endpoint]) is None]
    assert undeclared == []


def test_shell_and_account_routes_declare_the_issue_rules(hub_app: Flask) -> None:
    declared = {
        endpoint: access_of(hub_app.view_functions[endpoint])
        for endpoint in hub_app.view_functions
        if endpoint.split(".")[0] in ("web", "accounts")
    }
    assert declared == EXPECTED_ACCESS


def _check(client: FlaskClient, app: Flask, seeded: Seeded, role: str | None) -> list[str]:
    roles = frozenset({role}) if role else frozenset()
    problems = []
    # Logging out ends the session: run it last.
    rules = sorted(ui_rules(app), key=lambda r: r.endpoint == "accounts.logout")
    for rule in rules:
        url = _url(app, rule, seeded)
        response = _request(client, rule, url)
        response.close()  # streamed answers (CSV exports) keep their request context until closed
        allowed = may_open(access_of(app.view_functions[rule.endpoint]), roles, role is not None)
        location = response.headers.get("Location", "")
        if (rule.endpoint, role) in SPECIAL:
            ok = response.status_code == SPECIAL[(rule.endpoint, role)]
        elif allowed:
            ok = response.status_code == 200 or (
                rule.endpoint in ALLOWED_REDIRECTS and response.status_code == 302 and "next=" not in location
            )
        elif role is None:
            ok = response.status_code == 302 and location.startswith("/login?next=")
        else:
            ok = response.status_code == 403
        if not ok:
            problems.append(f"{role or 'anonymous'} {rule.endpoint} {url} -> {response.status_code} {location}")
    return problems


@pytest.mark.parametrize("role", [None, *ROLES])
def test_each_role_gets_exactly_its_pages(hub_app: Flask, seeded: Seeded, role: str | None) -> None:
    client = hub_app.test_client()
    if role is not None:
        login(hub_app, client, seeded.accounts[role])
    assert _check(client, hub_app, seeded, role) == []


def test_clinic_staff_cannot_open_another_clinics_patient_by_url(hub_app: Flask, seeded: Seeded) -> None:
    client = hub_app.test_client()
    login(hub_app, client, seeded.accounts["clinic_staff"])
    assert client.get(f"/patients/{seeded.patients['own']}").status_code == 200
    assert client.get(f"/patients/{seeded.patients['other']}").status_code == 404
    listing = client.get("/patients").get_data(as_text=True)
    assert f"/patients/{seeded.patients['own']}" in listing
    assert f"/patients/{seeded.patients['other']}" not in listing
    searched = client.get("/patients?q=Okafor").get_data(as_text=True)
    assert f"/patients/{seeded.patients['other']}" not in searched
    assert "0 patients found" in searched
