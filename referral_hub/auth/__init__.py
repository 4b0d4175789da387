"""API authentication: registered clients, the OAuth 2.0 token endpoint (SMART Backend Services) and bearer tokens.

``init_app`` registers the ``/oauth/token`` and ``/.well-known/smart-configuration`` routes; the FHIR layer calls
:func:`bearer_principal` on each request. Authorization (scopes per interaction, compartments) lives in
``referral_hub.policy``; this package only establishes *who* calls.
"""

from __future__ import annotations

from flask import Flask

from referral_hub.auth.errors import AuthError
from referral_hub.auth.models import ApiClient
from referral_hub.auth.services import ClientRegistrationError, RegisteredClient, find_client, register_client
from referral_hub.auth.tokens import ACCESS_TOKEN_LIFETIME_S, bearer_principal, issue_access_token


def init_app(app: Flask) -> None:
    """Register the token endpoint and SMART discovery on ``app``."""
    from referral_hub.auth.views import bp

    app.config.setdefault("ACCESS_TOKEN_LIFETIME_S", ACCESS_TOKEN_LIFETIME_S)
    app.register_blueprint(bp)


__all__ = [
    "ACCESS_TOKEN_LIFETIME_S",
    "ApiClient",
    "AuthError",
    "ClientRegistrationError",
    "RegisteredClient",
    "bearer_principal",
    "find_client",
    "init_app",
    "issue_access_token",
    "register_client",
]
