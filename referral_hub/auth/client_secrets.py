"""Client secrets for ``client_secret_basic``.

Secrets are generated here (256 random bits), shown once, and stored as a SHA-256 digest. A slow password KDF
(argon2, scrypt) protects *low-entropy* human passwords against guessing; a 256-bit random secret cannot be
guessed, so a fast digest gives the same protection for a stolen table while keeping the token endpoint cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_PREFIX = "sha256$"


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return _PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(secret: str, stored: str | None) -> bool:
    """Constant-time comparison; False for clients without a secret."""
    if not stored or not stored.startswith(_PREFIX):
        return False
    return hmac.compare_digest(hash_secret(secret), stored)


__all__ = ["generate_secret", "hash_secret", "verify_secret"]
