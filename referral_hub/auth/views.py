"""The OAuth 2.0 token endpoint (client_credentials) and SMART discovery.

Errors follow RFC 6749 §5.2 (``{"error": …, "error_description": …}``): clients of a token endpoint are OAuth
libraries that expect that shape, not FHIR OperationOutcomes. Client authentication failures answer 401 with a
``WWW-Authenticate`` header. Every issuance and every refusal is written to the audit log.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from referral_hub.audit.record import MINOR_FAILURE, record
from referral_hub.auth.assertions import JWT_BEARER, verify_client_assertion
from referral_hub.auth.client_secrets import verify_secret
from referral_hub.auth.discovery import smart_configuration, token_url
from referral_hub.auth.errors import AuthError
from referral_hub.auth.models import ApiClient
from referral_hub.auth.scopes import narrow
from referral_hub.auth.services import find_client
from referral_hub.auth.tokens import issue_access_token
from referral_hub.extensions import db

logger = logging.getLogger(__name__)
bp = Blueprint("oauth", __name__)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, client_id: str | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.client_id = error, description, status, client_id


def _oauth_error(error: str, description: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers.update({**_NO_STORE, **(headers or {})})
    return response


@bp.get("/.well-known/smart-configuration")
def well_known() -> ResponseReturnValue:
    return jsonify(smart_configuration())


@bp.post("/oauth/token")
def token() -> ResponseReturnValue:
    try:
        return _issue()
    except AuthError as exc:
        _audit_refusal(exc.client_id, f"{exc.error}: {exc.description}")
        scheme = "Basic" if request.authorization and request.authorization.type == "basic" else "Bearer"
        return _oauth_error(exc.error, exc.description, 401, {"WWW-Authenticate": exc.www_authenticate(scheme)})
    except _OAuthError as exc:
        _audit_refusal(exc.client_id, f"{exc.error}: {exc.description}")
        return _oauth_error(exc.error, exc.description, exc.status)


def _issue() -> ResponseReturnValue:
    if request.mimetype != "application/x-www-form-urlencoded":
        raise _OAuthError("invalid_request", "Send the token request as application/x-www-form-urlencoded")
    form = request.form
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        raise _OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported")
    client = _authenticate_client(form)
    requested = form.get("scope") or client.scopes
    granted = narrow(requested, client.scopes.split())
    if not granted:
        raise _OAuthError(
            "invalid_scope", "None of the requested scopes is registered for this client", 400, client.client_id
        )
    organization_ref = _organization_ref(client)
    access_token, lifetime = issue_access_token(
        client.client_id,
        granted,
        client.organization_id,
        organization_ref,
        all_compartments=client.all_compartments,
    )
    record(
        db.session,
        event_type="token",
        subtype="token-issued",
        action="E",
        principal_kind="client",
        principal_id=client.client_id,
        organization_id=client.organization_id,
        query=" ".join(granted),
    )
    db.session.commit()
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": lifetime,
        "scope": " ".join(granted),
    }
    response = jsonify(body)
    response.headers.update(_NO_STORE)
    return response


def _authenticate_client(form: Any) -> ApiClient:
    assertion = form.get("client_assertion")
    basic = request.headers.get("Authorization")
    if assertion is not None and basic:
        raise _OAuthError("invalid_request", "Use one client authentication method, not two")
    if assertion is not None:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise _OAuthError("invalid_request", f"client_assertion_type must be {JWT_BEARER}")
        return verify_client_assertion(db.session, assertion, token_url(), lambda cid: find_client(db.session, cid))
    if basic:
        client_id, secret = _basic_credentials(basic)
        client = find_client(db.session, client_id)
        if client is None or not client.active or not verify_secret(secret, client.secret_hash):
            raise AuthError("invalid_client", "Unknown client or wrong secret", client_id=client_id)
        return client
    raise AuthError("invalid_client", "Authenticate with private_key_jwt or client_secret_basic")


def _basic_credentials(header: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: ``Basic base64(urlencode(id):urlencode(secret))``."""
    scheme, _, encoded = header.strip().partition(" ")
    try:
        if scheme.lower() != "basic":
            raise ValueError(scheme)
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise ValueError("no colon")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise AuthError("invalid_client", "Malformed Basic credentials") from None
    return unquote(client_id), unquote(secret)


def _organization_ref(client: ApiClient) -> str | None:
    from referral_hub.accounts.models import Organization

    organization = db.session.get(Organization, client.organization_id)
    if organization is None or not organization.active:
        raise AuthError("invalid_client", "The client's organization is not active", client_id=client.client_id)
    return organization.fhir_reference


def _audit_refusal(client_id: str | None, description: str) -> None:
    # No rollback first: a jti accepted before a later check failed (say, invalid_scope) stays used, so a captured
    # assertion cannot be replayed with other parameters.
    try:
        record(
            db.session,
            event_type="token",
            subtype="token-refused",
            action="E",
            outcome=MINOR_FAILURE,
            outcome_desc=description,
            principal_kind="client",
            principal_id=client_id or "unknown",
        )
        db.session.commit()
    except Exception:  # the refusal is answered even when the audit store is down; the failure is logged
        logger.exception("could not record a token refusal in the audit log")
        db.session.rollback()


__all__ = ["bp"]
