"""Staff accounts: organizations, users, memberships, login, TOTP and password reset (issue 3, scope 1–2).

``init_app`` wires the login machinery (Flask-Login, CSRF, rate limiting) and the account views into the app.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the accounts feature to ``app`` (login manager, CSRF, limiter, views, CLI)."""
    from referral_hub.accounts.setup import setup_accounts

    setup_accounts(app)
