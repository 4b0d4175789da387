"""Single-use, short-lived password reset tokens.

The token is signed (itsdangerous, the app's secret key, a dedicated salt) and carries the user id plus a
fingerprint of the *current* password hash. Setting a new password changes the hash, so the same link stops
working: single use without a token table. ``max_age`` bounds its life.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from referral_hub.accounts.models import User

SALT = "referral-hub.password-reset"
DEFAULT_MAX_AGE_S = 30 * 60


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def make_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user)})


def user_for_token(session: Session, token: str) -> User | None:
    """The user the token was issued to, or None when forged, expired, already used or the account is inactive."""
    max_age = int(current_app.config.get("PASSWORD_RESET_MAX_AGE_S", DEFAULT_MAX_AGE_S))
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = session.get(User, data["u"])
    if user is None or not user.active or not hmac.compare_digest(str(data.get("p", "")), _fingerprint(user)):
        return None
    return user
