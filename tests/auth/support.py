"""Test helpers for authenticated FHIR calls: organizations, registered clients and bearer tokens.

Other test folders (``tests/fhir_api``, ``tests/app``) import these to call ``/fhir`` as an all-compartments
program client with ``system/*.cruds`` — the integration-engine identity — so they keep testing what they test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

#: Long enough for the slowest property-based test; production tokens live five minutes.
TEST_TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True)
class TestClientIdentity:
    """A registered client: its id, secret (``client_secret_basic``) and organization."""

    __test__ = False  # not a pytest test class

    client_id: str
    client_secret: str | None
    organization_id: int
    organization_ref: str
    scopes: str
    all_compartments: bool


def ensure_organization(app: Flask, slug: str, kind: str) -> tuple[int, str]:
    """The (id, ``Organization/<fhir_id>``) of organization ``slug``, created when missing."""
    from referral_hub.accounts.services import create_organization, find_organization
    from referral_hub.extensions import db

    with app.app_context():
        organization = find_organization(db.session, slug)
        if organization is None:
            organization = create_organization(db.session, slug.replace("-", " ").title(), kind, slug)
            db.session.commit()
        result = organization.id, organization.fhir_reference
        db.session.remove()
    return result


def register_test_client(
    app: Flask,
    *,
    org_slug: str,
    org_kind: str,
    scopes: str,
    all_compartments: bool = False,
    jwks: dict[str, Any] | None = None,
) -> TestClientIdentity:
    from referral_hub.accounts.services import find_organization
    from referral_hub.auth.services import register_client
    from referral_hub.extensions import db

    org_id, org_ref = ensure_organization(app, org_slug, org_kind)
    with app.app_context():
        organization = find_organization(db.session, org_slug)
        assert organization is not None
        registered = register_client(
            db.session,
            name=f"{org_slug} client",
            organization=organization,
            scopes=scopes,
            jwks=jwks,
            all_compartments=all_compartments,
        )
        client_id = registered.client.client_id
        db.session.commit()
        db.session.remove()
    return TestClientIdentity(client_id, registered.client_secret, org_id, org_ref, scopes, all_compartments)


def mint_token(app: Flask, identity: TestClientIdentity, scopes: str | None = None, lifetime_s: int = 0) -> str:
    """An access token for ``identity`` as the token endpoint would issue it (no HTTP round trip)."""
    from referral_hub.auth.tokens import issue_access_token

    with app.app_context():
        token, _ = issue_access_token(
            identity.client_id,
            (scopes or identity.scopes).split(),
            identity.organization_id,
            identity.organization_ref,
            all_compartments=identity.all_compartments,
            lifetime_s=lifetime_s or TEST_TOKEN_LIFETIME_S,
        )
    return token


_IDENTITY_KEY = "TEST_PROGRAM_CLIENT"


def program_identity(app: Flask) -> TestClientIdentity:
    """The app's all-compartments program client with ``system/*.cruds`` (registered on first use)."""
    identity = app.config.get(_IDENTITY_KEY)
    if identity is None:
        identity = register_test_client(
            app, org_slug="test-program", org_kind="program", scopes="system/*.cruds", all_compartments=True
        )
        app.config[_IDENTITY_KEY] = identity
    return identity


def program_bearer(app: Flask) -> dict[str, str]:
    """``Authorization`` header of the program client, minted now.

    Minted per call because a token's audience is the app's FHIR base URL at minting time, which the live-server
    fixture changes when it starts.
    """
    return {"Authorization": f"Bearer {mint_token(app, program_identity(app))}"}


def authorize_test_clients(app: Flask) -> None:
    """Make every ``app.test_client()`` request carry the program client's bearer token (unless it sets one).

    The client (and its organization) is registered on the first request, so tests that never call the API find
    the store as empty as they left it.
    """

    class BearerClient(FlaskClient):
        def open(self, *args: Any, **kwargs: Any) -> Any:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", program_bearer(app)["Authorization"])
            return super().open(*args, headers=headers, **kwargs)

    app.test_client_class = BearerClient


__all__ = [
    "TEST_TOKEN_LIFETIME_S",
    "TestClientIdentity",
    "authorize_test_clients",
    "ensure_organization",
    "mint_token",
    "program_bearer",
    "program_identity",
    "register_test_client",
]
