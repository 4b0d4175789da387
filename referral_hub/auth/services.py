"""Use cases for API clients: register one, find one. They flush; the caller (CLI command, request) commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.accounts.models import Organization
from referral_hub.auth.client_secrets import generate_secret, hash_secret
from referral_hub.auth.models import ApiClient
from referral_hub.auth.scopes import EXPLICIT_ONLY_TYPES, invalid_scopes, parse_scopes


class ClientRegistrationError(ValueError):
    """A registration the rules refuse (bad scopes, JWKS without public keys, all-compartments outside a program)."""


@dataclass(frozen=True)
class RegisteredClient:
    """The new client and, for ``client_secret_basic`` clients, the secret to show once (never stored)."""

    client: ApiClient
    client_secret: str | None


def _check_jwks(jwks: Any) -> dict[str, Any]:
    import jwt

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ClientRegistrationError('the JWKS must be a JSON object with a non-empty "keys" array')
    for key in jwks["keys"]:
        if not isinstance(key, dict) or any(private in key for private in ("d", "p", "q", "k")):
            raise ClientRegistrationError("register public keys only (the JWKS holds private or symmetric key data)")
    try:
        jwt.PyJWKSet.from_dict(jwks)
    except jwt.PyJWKSetError as exc:
        raise ClientRegistrationError(f"the JWKS holds no usable key: {exc}") from None
    return jwks


def register_client(
    session: Session,
    *,
    name: str,
    organization: Organization,
    scopes: str,
    jwks: dict[str, Any] | None = None,
    all_compartments: bool = False,
) -> RegisteredClient:
    """Register a system client of ``organization``.

    Without ``jwks`` the client authenticates with ``client_secret_basic`` and the returned secret is the only
    copy. Only clients of a ``program`` organization may have ``all_compartments`` (issue 3, scope 3).

    :raises ClientRegistrationError: see the class.
    """
    name = name.strip()
    if not name:
        raise ClientRegistrationError("the client needs a name")
    scope_text = " ".join(scopes.split())
    if not scope_text:
        raise ClientRegistrationError("give at least one scope, e.g. 'system/Task.cruds system/*.rs'")
    bad = invalid_scopes(scope_text)
    if bad:
        raise ClientRegistrationError(f"not enforceable system scopes: {', '.join(bad)}")
    if organization.kind != "program" and any(
        scope.resource_type in EXPLICIT_ONLY_TYPES for scope in parse_scopes(scope_text)
    ):
        raise ClientRegistrationError("only clients of a program organization may read the audit log (AuditEvent)")
    if all_compartments and organization.kind != "program":
        raise ClientRegistrationError("only clients of a program organization may see all compartments")
    secret = None if jwks is not None else generate_secret()
    client = ApiClient(
        # Hex: never starts with "-" or "=" (which CLIs take for options and spreadsheets for formulas).
        client_id=secrets.token_hex(16),
        name=name,
        organization_id=organization.id,
        secret_hash=hash_secret(secret) if secret else None,
        jwks=_check_jwks(jwks) if jwks is not None else None,
        scopes=scope_text,
        all_compartments=all_compartments,
        active=True,
    )
    session.add(client)
    session.flush()
    return RegisteredClient(client, secret)


def find_client(session: Session, client_id: str) -> ApiClient | None:
    return session.execute(select(ApiClient).where(ApiClient.client_id == client_id)).scalar_one_or_none()


__all__ = ["ClientRegistrationError", "RegisteredClient", "find_client", "register_client"]
