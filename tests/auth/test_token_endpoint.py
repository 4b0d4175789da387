"""The token endpoint: SMART Backend Services (private_key_jwt RS384/ES384) and client_secret_basic.

Every refusal is an RFC 6749 §5.2 error with 401 for client-authentication failures; every issuance and
refusal lands in the audit log.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.auth.keys import TOKEN_URL, KeyPair, token_form
from tests.auth.support import TestClientIdentity


def _post(app: Flask, form: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    return app.test_client().post("/oauth/token", data=form, headers=headers or {})


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.mark.parametrize("key_name", ["rsa_key", "ec_key"])
def test_private_key_jwt_assertion_gets_a_bearer_token_that_opens_the_api(
    app: Flask, jwt_client: TestClientIdentity, key_name: str, request: pytest.FixtureRequest
) -> None:
    key: KeyPair = request.getfixturevalue(key_name)
    response = _post(app, token_form(key.assertion(jwt_client.client_id), "system/Task.rs"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/Task.rs"
    assert response.headers["Cache-Control"] == "no-store"
    api = app.test_client().get("/fhir/Task", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert api.status_code == 200
    assert api.get_json()["type"] == "searchset"


def test_client_secret_basic_gets_a_token(app: Flask, secret_client: TestClientIdentity) -> None:
    assert secret_client.client_secret
    response = _post(
        app,
        {"grant_type": "client_credentials", "scope": "system/Patient.rs"},
        _basic(secret_client.client_id, secret_client.client_secret),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scope"] == "system/Patient.rs"


def test_wrong_client_secret_is_401_invalid_client(app: Flask, secret_client: TestClientIdentity) -> None:
    response = _post(app, {"grant_type": "client_credentials"}, _basic(secret_client.client_id, "guess"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("expired", {"exp": int(time.time()) - 120}),
        ("wrong audience", {"aud": "https://other.example/oauth/token"}),
        ("too far ahead", {"exp": int(time.time()) + 900}),
        ("no jti", {"jti": None}),
        ("iss differs from sub", {"iss": "someone-else"}),
    ],
)
def test_bad_assertion_claims_are_401_invalid_client(
    app: Flask, jwt_client: TestClientIdentity, rsa_key: KeyPair, case: str, overrides: dict[str, Any]
) -> None:
    response = _post(app, token_form(rsa_key.assertion(jwt_client.client_id, **overrides)))
    assert response.status_code == 401, case
    assert response.get_json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_assertion_signed_by_an_unregistered_key_is_401(app: Flask, jwt_client: TestClientIdentity) -> None:
    stranger = KeyPair("RS384", "rsa-1")  # same kid as the registered key, different key material
    response = _post(app, token_form(stranger.assertion(jwt_client.client_id)))
    assert response.status_code == 401
    assert "signature" in response.get_json()["error_description"]


def test_replayed_assertion_jti_is_401(app: Flask, jwt_client: TestClientIdentity, rsa_key: KeyPair) -> None:
    assertion = rsa_key.assertion(jwt_client.client_id)
    assert _post(app, token_form(assertion)).status_code == 200
    replay = _post(app, token_form(assertion))
    assert replay.status_code == 401
    assert "already used" in replay.get_json()["error_description"]


def test_unknown_client_is_401(app: Flask, rsa_key: KeyPair) -> None:
    response = _post(app, token_form(rsa_key.assertion("no-such-client")))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_symmetric_assertion_algorithm_is_refused(app: Flask, jwt_client: TestClientIdentity) -> None:
    import jwt

    forged = jwt.encode(
        {"iss": jwt_client.client_id, "sub": jwt_client.client_id, "aud": TOKEN_URL, "exp": int(time.time()) + 60},
        "a-shared-secret-long-enough-for-hs256-32b",
        algorithm="HS256",
    )
    response = _post(app, token_form(forged))
    assert response.status_code == 401
    assert "RS384 or ES384" in response.get_json()["error_description"]


def test_requested_scopes_are_narrowed_to_the_registration(
    app: Flask, jwt_client: TestClientIdentity, rsa_key: KeyPair
) -> None:
    response = _post(app, token_form(rsa_key.assertion(jwt_client.client_id), "system/*.cruds"))
    assert response.status_code == 200
    assert response.get_json()["scope"].split() == ["system/Task.cruds", "system/Patient.rs"]


def test_a_scope_the_client_lacks_entirely_is_invalid_scope(
    app: Flask, jwt_client: TestClientIdentity, rsa_key: KeyPair
) -> None:
    response = _post(app, token_form(rsa_key.assertion(jwt_client.client_id), "system/Observation.rs"))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_other_grant_types_are_refused(app: Flask, secret_client: TestClientIdentity) -> None:
    assert secret_client.client_secret
    response = _post(app, {"grant_type": "password"}, _basic(secret_client.client_id, secret_client.client_secret))
    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_grant_type"


def test_issuance_and_refusals_are_audited(app: Flask, jwt_client: TestClientIdentity, rsa_key: KeyPair) -> None:
    from referral_hub.audit.models import AuditEventRow
    from referral_hub.extensions import db

    assert _post(app, token_form(rsa_key.assertion(jwt_client.client_id))).status_code == 200
    assert _post(app, token_form(rsa_key.assertion(jwt_client.client_id, aud="x"))).status_code == 401
    with app.app_context():
        rows = db.session.execute(select(AuditEventRow).where(AuditEventRow.event_type == "token")).scalars().all()
        assert [(r.subtype, r.outcome, r.principal_id) for r in rows] == [
            ("token-issued", "0", jwt_client.client_id),
            ("token-refused", "4", jwt_client.client_id),
        ]


def test_smart_configuration_is_public_at_the_root_and_the_fhir_base(app: Flask) -> None:
    client = app.test_client()
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        config = client.get(path).get_json()
        assert config["token_endpoint"] == TOKEN_URL
        assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "client_secret_basic"]
        assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
        assert config["grant_types_supported"] == ["client_credentials"]
        assert "client-confidential-asymmetric" in config["capabilities"]
        assert "system/*.rs" in config["scopes_supported"]


def test_metadata_stays_public_and_declares_smart_security(app: Flask) -> None:
    response = app.test_client().get("/fhir/metadata")
    assert response.status_code == 200
    security = response.get_json()["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = security["extension"][0]
    assert uris["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    assert uris["extension"] == [{"url": "token", "valueUri": TOKEN_URL}]
