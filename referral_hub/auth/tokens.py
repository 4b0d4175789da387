"""Bearer access tokens: short-lived JWTs signed by the hub (HS256, key derived from ``SECRET_KEY``).

Why a signed JWT rather than an opaque token in a table: checking it costs one HMAC and no database round trip,
which matters on every FHIR request (issue 2's read bench compares the hub with a one-SELECT endpoint), and no
token table grows or needs cleaning. The price is that a deactivated client keeps a valid token until it expires,
so tokens live only five minutes (``ACCESS_TOKEN_LIFETIME_S``). Only the hub verifies its tokens, so a symmetric
key is right: nothing to publish, nothing a partner could misuse. The key is derived from ``SECRET_KEY`` with a
purpose label, so it is never the same bytes as the session-cookie key.

Claims: ``iss`` (hub base URL), ``aud`` (the FHIR base URL — a token for another audience is refused), ``sub``
(client_id), ``exp``/``iat``/``jti``, ``scope`` and the organization the client acts for (``org``, ``org_ref``,
``allc`` = all compartments).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime

import jwt
from flask import current_app

from referral_hub.auth.errors import AuthError
from referral_hub.security.principal import Principal

ACCESS_TOKEN_LIFETIME_S = 300
_ALGORITHM = "HS256"
_PURPOSE = b"referral-hub/access-token/v1"


def _signing_key() -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), _PURPOSE, hashlib.sha256).digest()


def issue_access_token(
    client_id: str,
    scopes: list[str],
    organization_id: int,
    organization_ref: str | None,
    *,
    all_compartments: bool = False,
    lifetime_s: int | None = None,
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    lifetime = lifetime_s or int(current_app.config.get("ACCESS_TOKEN_LIFETIME_S", ACCESS_TOKEN_LIFETIME_S))
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": current_app.config["BASE_URL"],
        "aud": current_app.config["FHIR_BASE_URL"],
        "sub": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(scopes),
        "org": organization_id,
        "org_ref": organization_ref,
        "allc": all_compartments,
    }
    return jwt.encode(claims, _signing_key(), algorithm=_ALGORITHM), lifetime


#: Verified tokens → (principal, expiry, audience, issuer). A client sends the same token for minutes; verifying
#: its signature and claims once per process instead of per request saves a third of a read's CPU. Keyed by the
#: whole token string, so only a byte-identical (already verified) token can hit; expiry is re-checked on each hit.
_VERIFIED: dict[str, tuple[Principal, float, str, str]] = {}
_VERIFIED_MAX = 4096


def principal_from_token(token: str) -> Principal:
    """The client principal a bearer token stands for.

    :raises AuthError: ``invalid_token`` when malformed, badly signed, expired or meant for another audience.
    """
    audience, issuer = current_app.config["FHIR_BASE_URL"], current_app.config["BASE_URL"]
    cached = _VERIFIED.get(token)
    if cached is not None and cached[1] > time.time() and cached[2] == audience and cached[3] == issuer:
        return cached[0]
    principal, expires = _verify(token, audience, issuer)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[token] = (principal, expires, audience, issuer)
    return principal


def _verify(token: str, audience: str, issuer: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            _signing_key(),
            algorithms=[_ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": ["iss", "aud", "sub", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("invalid_token", "The access token has expired") from None
    except jwt.InvalidAudienceError:
        raise AuthError("invalid_token", "The access token was issued for another audience") from None
    except jwt.InvalidSignatureError:
        raise AuthError("invalid_token", "The access token signature does not verify") from None
    except jwt.InvalidTokenError:
        raise AuthError("invalid_token", "The access token is malformed or not issued by this hub") from None
    org = claims.get("org")
    if not isinstance(org, int) or not isinstance(claims.get("scope"), str):
        raise AuthError("invalid_token", "The access token is malformed or not issued by this hub")
    principal = Principal(
        kind="client",
        id=str(claims["sub"]),
        organization_id=org,
        organization_ref=claims.get("org_ref"),
        scopes=frozenset(claims["scope"].split()),
        all_compartments=bool(claims.get("allc")),
    )
    return principal, float(claims["exp"])


def bearer_principal(authorization: str | None) -> Principal | None:
    """The principal of an ``Authorization: Bearer …`` header; None when the header is absent.

    :raises AuthError: for any other scheme or a bad token.
    """
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("invalid_request", "Send the access token as 'Authorization: Bearer <token>'")
    return principal_from_token(token.strip())


__all__ = ["ACCESS_TOKEN_LIFETIME_S", "bearer_principal", "issue_access_token", "principal_from_token"]
