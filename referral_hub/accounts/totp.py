"""TOTP second factor (RFC 6238, 30-second steps, 6 digits) with replay protection and an SVG QR code.

A code is accepted for the current step and one step either side (clock drift), but never twice: the last
accepted step is stored on the user, so a code read over someone's shoulder cannot be reused.
"""

from __future__ import annotations

import io
import time

import pyotp
import qrcode
from qrcode.image.svg import SvgPathImage

ISSUER = "Referral Hub"
STEP_SECONDS = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def qr_svg(uri: str) -> bytes:
    """The provisioning URI as a standalone SVG image (no inline style, so it passes the CSP)."""
    image = qrcode.make(uri, image_factory=SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def matching_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step ``code`` is valid for (current ±1), or None when wrong or already used."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def code_for(secret: str, now: float | None = None) -> str:
    """The current code (tests and the browser test act as the authenticator app)."""
    return pyotp.TOTP(secret).at(int(now if now is not None else time.time()))
