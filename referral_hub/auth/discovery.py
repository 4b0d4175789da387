"""``/.well-known/smart-configuration`` and the ``rest.security`` element of the CapabilityStatement.

Both are derived from the same constants as the token endpoint, so what the hub advertises is what it does.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from referral_hub.auth.assertions import ALGORITHMS

AUTH_METHODS = ("private_key_jwt", "client_secret_basic")
GRANT_TYPES = ("client_credentials",)
#: SMART capabilities the hub implements (Backend Services with asymmetric or symmetric client auth; v1 and v2
#: scope syntax).
CAPABILITIES = ("client-confidential-asymmetric", "client-confidential-symmetric", "permission-v1", "permission-v2")
SCOPES_SUPPORTED = ("system/*.cruds", "system/*.rs", "system/Task.cruds", "system/*.read", "system/AuditEvent.rs")
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def token_url() -> str:
    """The token endpoint's absolute URL: the only ``aud`` a client assertion may carry."""
    return current_app.config["BASE_URL"].rstrip("/") + "/oauth/token"


def smart_configuration() -> dict[str, Any]:
    return {
        "issuer": current_app.config["BASE_URL"].rstrip("/"),
        "token_endpoint": token_url(),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "grant_types_supported": list(GRANT_TYPES),
        "scopes_supported": list(SCOPES_SUPPORTED),
        "capabilities": list(CAPABILITIES),
    }


def capability_security() -> dict[str, Any]:
    """``CapabilityStatement.rest.security`` (gravity-sdoh-cc.md §6.1: service SMART-on-FHIR)."""
    return {
        "extension": [
            {"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": token_url()}]},
        ],
        "cors": False,
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ],
                "text": "OAuth2 using SMART Backend Services (client_credentials, private_key_jwt or "
                "client_secret_basic)",
            }
        ],
        "description": "Every interaction except GET /metadata needs a bearer token from the token endpoint "
        "(or a signed-in staff session). SMART v2 system scopes are enforced per interaction; each client sees "
        "only its organization's compartment.",
    }


__all__ = ["CAPABILITIES", "capability_security", "smart_configuration", "token_url"]
