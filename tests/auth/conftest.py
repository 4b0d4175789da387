"""Fixtures for the API-authentication tests: registered clients with generated keys on each database."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.auth.keys import KeyPair
from tests.auth.support import TestClientIdentity, register_test_client


@pytest.fixture(scope="session")
def rsa_key() -> KeyPair:
    return KeyPair("RS384", "rsa-1")


@pytest.fixture(scope="session")
def ec_key() -> KeyPair:
    return KeyPair("ES384", "ec-1")


@pytest.fixture
def jwt_client(app: Flask, rsa_key: KeyPair, ec_key: KeyPair) -> TestClientIdentity:
    """A clinic client registered with an RSA and an EC public key (private_key_jwt)."""
    jwks = {"keys": [rsa_key.jwk, ec_key.jwk]}
    return register_test_client(
        app, org_slug="clinic-a", org_kind="clinic", scopes="system/Task.cruds system/Patient.rs", jwks=jwks
    )


@pytest.fixture
def secret_client(app: Flask) -> TestClientIdentity:
    """A CBO client with a client secret (client_secret_basic)."""
    return register_test_client(app, org_slug="cbo-x", org_kind="cbo", scopes="system/*.rs")
