"""``referral-hub clients create`` registers a client and prints its credentials once, as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from tests.auth.keys import KeyPair
from tests.auth.support import ensure_organization


def test_create_prints_client_id_and_a_one_time_secret(app: Flask) -> None:
    ensure_organization(app, "cbo-x", "cbo")
    result = app.test_cli_runner().invoke(
        args=["clients", "create", "--name", "Pantry app", "--org", "cbo-x", "--scopes", "system/Task.rs"]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["client_secret"]
    assert printed["token_endpoint_auth_method"] == "client_secret_basic"
    from referral_hub.auth.client_secrets import verify_secret
    from referral_hub.auth.services import find_client
    from referral_hub.extensions import db

    with app.app_context():
        client = find_client(db.session, printed["client_id"])
        assert client is not None
        assert client.secret_hash != printed["client_secret"]
        assert verify_secret(printed["client_secret"], client.secret_hash)


def test_create_with_jwks_prints_no_secret(app: Flask, tmp_path: Path) -> None:
    ensure_organization(app, "clinic-a", "clinic")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeyPair("ES384", "k1").jwks))
    result = app.test_cli_runner().invoke(
        args=["clients", "create", "--name", "EHR", "--org", "clinic-a", "--scopes", "system/Task.cruds"]
        + ["--jwks", str(jwks)]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert "client_secret" not in printed
    assert printed["token_endpoint_auth_method"] == "private_key_jwt"


def test_all_compartments_is_only_for_program_organizations(app: Flask) -> None:
    ensure_organization(app, "cbo-x", "cbo")
    ensure_organization(app, "program", "program")
    base = ["clients", "create", "--name", "Engine", "--scopes", "system/*.cruds", "--all-compartments"]
    refused = app.test_cli_runner().invoke(args=[*base, "--org", "cbo-x"])
    assert refused.exit_code != 0
    assert "program organization" in refused.output
    accepted = app.test_cli_runner().invoke(args=[*base, "--org", "program"])
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout)["all_compartments"] is True


def test_private_keys_and_non_system_scopes_are_refused(app: Flask, tmp_path: Path) -> None:
    ensure_organization(app, "clinic-a", "clinic")
    key = KeyPair("RS384", "k1")
    private = dict(key.jwk, d="secret-part")
    jwks = tmp_path / "private.json"
    jwks.write_text(json.dumps({"keys": [private]}))
    runner = app.test_cli_runner()
    with_private = runner.invoke(
        args=[
            "clients",
            "create",
            "--name",
            "X",
            "--org",
            "clinic-a",
            "--scopes",
            "system/Task.rs",
            "--jwks",
            str(jwks),
        ]
    )
    assert with_private.exit_code != 0
    assert "public keys only" in with_private.output
    bad_scope = runner.invoke(
        args=["clients", "create", "--name", "X", "--org", "clinic-a", "--scopes", "user/Task.rs"]
    )
    assert bad_scope.exit_code != 0
    audit_scope = runner.invoke(
        args=["clients", "create", "--name", "X", "--org", "clinic-a", "--scopes", "system/AuditEvent.rs"]
    )
    assert audit_scope.exit_code != 0
    assert "audit log" in audit_scope.output
