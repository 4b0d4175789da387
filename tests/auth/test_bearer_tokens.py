"""Bearer tokens on ``/fhir``: anything but a valid, unexpired token for this audience is 401 with an
OperationOutcome and a ``WWW-Authenticate: Bearer`` challenge; a valid token without the scope is 403."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from flask import Flask

from tests.auth.support import TestClientIdentity, mint_token


def _get(app: Flask, authorization: str | None, path: str = "/fhir/Task") -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return app.test_client().get(path, headers=headers)


def _assert_401(response: Any, error: str | None) -> None:
    assert response.status_code == 401
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "login"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    if error:
        assert f'error="{error}"' in challenge


def _forge(app: Flask, identity: TestClientIdentity, key: bytes | None = None, **claims: Any) -> str:
    """A token like the hub's, with changed claims, signed with the hub's key unless ``key`` is given."""
    from referral_hub.auth import tokens

    with app.app_context():
        body = jwt.decode(
            mint_token(app, identity), tokens._signing_key(), algorithms=["HS256"], options={"verify_aud": False}
        )
        body.update(claims)
        return jwt.encode(body, key or tokens._signing_key(), algorithm="HS256")


def test_missing_token_is_401_with_a_bare_challenge(app: Flask) -> None:
    response = _get(app, None)
    _assert_401(response, None)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="referral-hub"'


def test_expired_token_is_401(app: Flask, jwt_client: TestClientIdentity) -> None:
    now = int(time.time())
    _assert_401(_get(app, f"Bearer {_forge(app, jwt_client, iat=now - 900, exp=now - 600)}"), "invalid_token")


def test_token_for_another_audience_is_401(app: Flask, jwt_client: TestClientIdentity) -> None:
    _assert_401(_get(app, f"Bearer {_forge(app, jwt_client, aud='https://elsewhere.example/fhir')}"), "invalid_token")


def test_token_with_a_bad_signature_is_401(app: Flask, jwt_client: TestClientIdentity) -> None:
    token = _forge(app, jwt_client, key=b"not-the-hub-key-but-32-bytes-long!", scope="system/*.cruds")
    _assert_401(_get(app, f"Bearer {token}"), "invalid_token")


@pytest.mark.parametrize("authorization", ["Bearer not.a.jwt", "Bearer ", "Basic dXNlcjpwYXNz", "token"])
def test_malformed_credentials_are_401(app: Flask, authorization: str) -> None:
    _assert_401(_get(app, authorization), None)


def test_token_from_another_hub_secret_is_401(app: Flask, jwt_client: TestClientIdentity) -> None:
    from tests.conftest import make_test_app

    other = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"])
    token = mint_token(app, jwt_client)
    _assert_401(_get(other, f"Bearer {token}"), "invalid_token")
    with other.app_context():
        from referral_hub.extensions import db

        db.engine.dispose()


def test_valid_token_without_the_scope_is_403(app: Flask, jwt_client: TestClientIdentity) -> None:
    token = mint_token(app, jwt_client, scopes="system/Patient.rs")
    response = _get(app, f"Bearer {token}")
    assert response.status_code == 403
    assert response.get_json()["issue"][0]["code"] == "forbidden"


def test_refusals_on_the_api_are_audited(app: Flask, jwt_client: TestClientIdentity) -> None:
    from sqlalchemy import select

    from referral_hub.audit.models import AuditEventRow
    from referral_hub.extensions import db

    _get(app, None)
    _get(app, f"Bearer {mint_token(app, jwt_client, scopes='system/Patient.rs')}")
    with app.app_context():
        rows = db.session.execute(select(AuditEventRow).order_by(AuditEventRow.id)).scalars().all()
        refusals = [(r.principal_kind, r.principal_id, r.outcome, r.resource_type) for r in rows if r.outcome != "0"]
    assert refusals == [
        ("anonymous", "unknown", "4", "Task"),
        ("client", jwt_client.client_id, "4", "Task"),
    ]
