"""Password hashing (argon2id) and one-time password generation.

argon2id is the OWASP-recommended memory-hard KDF; ``argon2-cffi``'s defaults follow RFC 9106's second
recommended parameter set. Hashes are self-describing, so parameters can be raised later: ``needs_rehash`` tells the
login to re-hash with the current ones.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

#: Shortest password a user may choose (NIST SP 800-63B: at least 8; we ask for more since there is no blocklist).
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

#: A hash of a random password, verified when the account does not exist, so that "no such user" takes as long as
#: "wrong password" and response timing does not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always does the work of one verification, even without a hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_one_time_password() -> str:
    """A random 20-character URL-safe password (~120 bits), shown once and changed at first login."""
    return secrets.token_urlsafe(15)


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable as a new password (an untranslated key), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    return None
