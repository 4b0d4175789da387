"""Verification of SMART Backend Services client assertions (``private_key_jwt``, RFC 7523).

The client signs a short JWT with its private key; the hub checks it against the client's registered JWKS:
algorithm RS384 or ES384 only, ``iss`` = ``sub`` = the client id, ``aud`` = this token endpoint's URL, ``exp`` in
the future but at most five minutes ahead, and a ``jti`` never seen before (``replay.py``). PyJWT does the JOSE
work (signature, ``exp``/``aud``/``iss`` claims, JWK parsing); the SMART-specific rules are here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlalchemy.orm import Session

from referral_hub.auth.errors import AuthError
from referral_hub.auth.models import ApiClient
from referral_hub.auth.replay import remember_jti

ALGORITHMS = ("RS384", "ES384")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: SMART: "exp … no more than five minutes in the future".
MAX_LIFETIME_S = 300
#: Tolerated clock difference between the client and the hub.
CLOCK_SKEW_S = 10


def _invalid(description: str, client_id: str | None = None) -> AuthError:
    return AuthError("invalid_client", description, client_id=client_id)


def verify_client_assertion(
    session: Session, assertion: str, token_url: str, find_client: Callable[[str], ApiClient | None]
) -> ApiClient:
    """The client that signed ``assertion``. :raises AuthError: ``invalid_client`` for every failure."""
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise _invalid("client_assertion is not a JWT") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _invalid(f"client_assertion must be signed with {' or '.join(ALGORITHMS)}")
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or unverified.get("sub") != client_id:
        raise _invalid("client_assertion iss and sub must both be the client_id")
    client = find_client(client_id)
    if client is None or not client.active:
        raise _invalid("unknown or inactive client", client_id)
    if not client.jwks:
        raise _invalid("this client has no registered JWKS; use client_secret_basic", client_id)
    claims = _verify_signature(assertion, header, client, token_url)
    now = datetime.now(UTC).timestamp()
    exp = claims["exp"]
    if exp > now + MAX_LIFETIME_S + CLOCK_SKEW_S:
        raise _invalid("client_assertion exp is more than five minutes ahead", client_id)
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise _invalid("client_assertion needs a jti of at most 255 characters", client_id)
    if not remember_jti(session, client_id, jti, datetime.fromtimestamp(exp + CLOCK_SKEW_S, UTC)):
        raise _invalid("client_assertion jti was already used", client_id)
    return client


def _verify_signature(assertion: str, header: dict[str, Any], client: ApiClient, token_url: str) -> dict[str, Any]:
    try:
        keys = jwt.PyJWKSet.from_dict(client.jwks or {}).keys
    except jwt.PyJWKSetError:
        raise _invalid("the registered JWKS holds no usable key", client.client_id) from None
    kid = header.get("kid")
    candidates = [k for k in keys if kid is None or k.key_id == kid]
    if not candidates:
        raise _invalid("no registered key matches the assertion's kid", client.client_id)
    last_error = "signature does not verify"
    for key in candidates:
        try:
            return jwt.decode(
                assertion,
                key=key.key,
                algorithms=[header["alg"]],
                audience=token_url,
                issuer=client.client_id,
                leeway=CLOCK_SKEW_S,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise _invalid("client_assertion has expired", client.client_id) from None
        except jwt.InvalidAudienceError:
            raise _invalid(f"client_assertion aud must be {token_url}", client.client_id) from None
        except jwt.InvalidTokenError as exc:
            last_error = str(exc)
            if not isinstance(exc, jwt.InvalidKeyError | jwt.InvalidAlgorithmError):
                raise _invalid(f"client_assertion rejected: {exc}", client.client_id) from None
    raise _invalid(f"client_assertion rejected: {last_error}", client.client_id)


__all__ = ["ALGORITHMS", "JWT_BEARER", "MAX_LIFETIME_S", "verify_client_assertion"]
