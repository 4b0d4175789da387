"""Staff sign-in: sessions, CSRF, rate limits, the second factor, one-time passwords (issue 3 scope 2)."""

from __future__ import annotations

import logging
import secrets

import pytest
from flask import Flask
from sqlalchemy import select

from referral_hub.accounts import totp
from referral_hub.accounts.models import User
from referral_hub.extensions import db
from tests.web.hub_testing import Account, Seeded, csrf_token, login, make_app, next_totp_code

SESSION_COOKIE = "hub_session"


def _session_cookie(client) -> str | None:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie else None


def _post_login(client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def test_login_starts_a_new_session_and_the_pre_login_cookie_is_worthless(hub_app: Flask, seeded: Seeded) -> None:
    client = hub_app.test_client()
    account = seeded.accounts["clinic_staff"]
    token = csrf_token(client)
    before = _session_cookie(client)
    assert before
    response = client.post("/login", data={"email": account.email, "password": account.password, "csrf_token": token})
    assert response.status_code == 302
    after = _session_cookie(client)
    assert after
    assert after != before
    assert client.get("/").status_code == 200
    # The cookie from before the login does not carry the login (nothing fixed in advance is ever promoted).
    attacker = hub_app.test_client()
    attacker.set_cookie(SESSION_COOKIE, before)
    assert attacker.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax_and_secure_under_https(sqlite_app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    response = sqlite_app.test_client().get("/login")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # plain-HTTP development
    https_app = make_app(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, BASE_URL="https://hub.example.org")
    secure_header = https_app.test_client().get("/login", base_url="https://hub.example.org").headers["Set-Cookie"]
    assert "Secure" in secure_header
    with https_app.app_context():
        db.engine.dispose()


def test_form_post_without_csrf_token_is_refused(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    client = sqlite_app.test_client()
    account = sqlite_seeded.accounts["clinic_staff"]
    client.get("/login")
    response = client.post("/login", data={"email": account.email, "password": account.password})
    assert response.status_code == 400
    assert "This form expired or was sent from another site" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    forged = client.post("/login", data={"email": account.email, "password": account.password, "csrf_token": "x"})
    assert forged.status_code == 400


def test_fhir_api_is_exempt_from_csrf_and_ignores_the_login_cookie(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    client = sqlite_app.test_client()
    login(sqlite_app, client, sqlite_seeded.accounts["clinic_staff"])
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    # A signed-in browser gives the FHIR API no identity: a cross-site form could otherwise ride on the cookie.
    with sqlite_app.test_request_context("/fhir/Patient"):
        from flask_login import current_user

        assert not current_user.is_authenticated


def test_repeated_failures_for_one_account_are_rate_limited(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    sqlite_app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    client = sqlite_app.test_client()
    account = sqlite_seeded.accounts["cbo_staff"]
    statuses = [_post_login(client, account.email, "wrong-" + secrets.token_hex(4)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Even the right password is refused while the account is limited; another account is not affected.
    assert _post_login(client, account.email, account.password).status_code == 429
    other = sqlite_seeded.accounts["cbo_admin"]
    assert _post_login(client, other.email, other.password).status_code == 302


def test_failures_from_one_address_across_accounts_are_rate_limited(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    sqlite_app.config["LOGIN_LIMIT_PER_IP"] = "5 per minute"
    client = sqlite_app.test_client()
    statuses = [_post_login(client, f"nobody{i}@example.org", "wrong-password-123").status_code for i in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    assert "Too many attempts" in _post_login(client, "x@example.org", "y").get_data(as_text=True)


def test_successful_logins_do_not_use_up_the_limit(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    sqlite_app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    account = sqlite_seeded.accounts["clinic_staff"]
    for _ in range(4):
        client = sqlite_app.test_client()
        assert _post_login(client, account.email, account.password).status_code == 302


def _admin_without_totp(app: Flask) -> Account:
    from referral_hub.accounts.services import create_user, find_organization

    password = secrets.token_urlsafe(16)
    with app.app_context():
        user, _ = create_user(
            db.session, "new.admin@example.org", find_organization(db.session, "program"), "admin", password=password
        )
        user.must_change_password = False
        db.session.commit()
        return Account(user.email, password, "admin", user.id)


def test_admin_without_totp_cannot_finish_logging_in_until_enrolled(hub_app: Flask, seeded: Seeded) -> None:
    account = _admin_without_totp(hub_app)
    client = hub_app.test_client()
    response = _post_login(client, account.email, account.password)
    assert response.headers["Location"] == "/login/enrol"
    # Every other page still treats the admin as signed out.
    for path in ("/", "/account", "/admin/accounts", "/patients"):
        assert client.get(path).headers["Location"].startswith("/login?next="), path
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "Your role requires two-step sign-in" in page
    secret = page.split('data-testid="totp-secret">', 1)[1].split("<", 1)[0]
    qr = client.get("/login/enrol/qr.svg")
    assert qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data
    token = csrf_token(client, "/login/enrol")
    bad = client.post("/login/enrol", data={"code": "000000", "csrf_token": token})
    assert bad.status_code == 200
    assert client.get("/").status_code == 302
    done = client.post("/login/enrol", data={"code": totp.code_for(secret), "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/admin/accounts").status_code == 200
    with hub_app.app_context():
        assert db.session.get(User, account.user_id).totp_secret == secret  # type: ignore[union-attr]


def test_totp_code_is_required_and_cannot_be_replayed(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    admin = sqlite_seeded.accounts["admin"]
    assert admin.totp_secret
    first = sqlite_app.test_client()
    assert _post_login(first, admin.email, admin.password).headers["Location"] == "/login/verify"
    assert first.get("/").status_code == 302  # password alone is not enough
    code = next_totp_code(sqlite_app, admin.user_id, admin.totp_secret)
    ok = first.post("/login/verify", data={"code": code, "csrf_token": csrf_token(first, "/login/verify")})
    assert ok.status_code == 302
    assert first.get("/").status_code == 200
    second = sqlite_app.test_client()
    _post_login(second, admin.email, admin.password)
    replay = second.post("/login/verify", data={"code": code, "csrf_token": csrf_token(second, "/login/verify")})
    assert replay.status_code == 200
    assert "already used" in replay.get_data(as_text=True)
    assert second.get("/").status_code == 302


def test_one_time_password_must_be_changed_before_anything_else(hub_app: Flask, seeded: Seeded) -> None:
    from referral_hub.accounts.services import create_user, find_organization

    with hub_app.app_context():
        user, one_time = create_user(
            db.session, "fresh@example.org", find_organization(db.session, "cbo-b"), "cbo_staff"
        )
        db.session.commit()
    client = hub_app.test_client()
    assert _post_login(client, "Fresh@Example.org", one_time).headers["Location"] == "/account/password"
    assert client.get("/").headers["Location"] == "/account/password"
    token = csrf_token(client, "/account/password")
    new_password = secrets.token_urlsafe(18)
    short = client.post(
        "/account/password", data={"current": one_time, "password": "short", "confirm": "short", "csrf_token": token}
    )
    assert short.status_code == 200
    changed = client.post(
        "/account/password",
        data={"current": one_time, "password": new_password, "confirm": new_password, "csrf_token": token},
    )
    assert changed.status_code == 302
    assert client.get("/").status_code == 200
    fresh = hub_app.test_client()
    assert _post_login(fresh, "fresh@example.org", one_time).status_code == 200  # the one-time password is gone
    assert _post_login(fresh, "fresh@example.org", new_password).status_code == 302


def test_logout_clears_the_session_and_ends_copies_of_it(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    client = sqlite_app.test_client()
    login(sqlite_app, client, sqlite_seeded.accounts["program_manager"])
    stolen = _session_cookie(client)
    assert stolen
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    replay = sqlite_app.test_client()
    replay.set_cookie(SESSION_COOKIE, stolen)
    assert replay.get("/").status_code == 302


def test_login_failures_and_successes_reach_the_audit_log_without_the_email(
    hub_app: Flask, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    audit_models = pytest.importorskip("referral_hub.audit.record", reason="audit package not installed").__name__
    assert audit_models
    from referral_hub.audit.models import AuditEventRow

    account = seeded.accounts["clinic_staff"]
    client = hub_app.test_client()
    caplog.set_level(logging.DEBUG)
    _post_login(client, account.email, "wrong-password-" + secrets.token_hex(4))
    _post_login(client, "nobody@example.org", "whatever-password")
    _post_login(client, account.email, account.password)
    with hub_app.app_context():
        rows = db.session.execute(select(AuditEventRow).where(AuditEventRow.event_type == "login")).scalars().all()
        outcomes = [(row.outcome, row.outcome_desc, row.principal_id) for row in rows]
    assert ("4", "bad_password", str(account.user_id)) in outcomes
    assert ("0", "ok", str(account.user_id)) in outcomes
    unknown = [o for o in outcomes if o[1] == "unknown_account"]
    assert unknown
    assert "nobody" not in unknown[0][2]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert account.email not in logged
    assert "nobody@example.org" not in logged
    assert account.password not in logged


def test_passwords_are_stored_as_argon2id_hashes(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    with sqlite_app.app_context():
        stored = db.session.execute(select(User.password_hash)).scalars().all()
    assert stored
    assert all(h.startswith("$argon2id$") for h in stored)
    assert not any(a.password in h for a in sqlite_seeded.accounts.values() for h in stored)


@pytest.mark.redis
def test_rate_limits_are_shared_through_redis_between_web_nodes(hub_sqlite_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With ``REDIS_URL`` set, two app instances (two web nodes) count failures against one account together."""
    import redis

    from tests.web.hub_testing import REQUIRE_SERVICES

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is not available: {exc}")
        pytest.skip(f"Redis is not available: {exc}")
    prefix = "i3a-test-" + secrets.token_hex(4)
    nodes = [
        make_app(
            hub_sqlite_url, tmp_path, REDIS_URL=url, RATELIMIT_KEY_PREFIX=prefix, LOGIN_LIMIT_PER_ACCOUNT="3 per minute"
        )
        for _ in range(2)
    ]
    try:
        assert nodes[0].config["RATELIMIT_STORAGE_URI"] == url
        statuses = []
        for attempt in range(4):
            client = nodes[attempt % 2].test_client()
            statuses.append(_post_login(client, "someone@example.org", "wrong-password-1").status_code)
        assert statuses == [200, 200, 200, 429]
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        for node in nodes:
            with node.app_context():
                db.engine.dispose()
