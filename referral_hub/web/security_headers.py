"""Security headers on every response (issue 3 scope 6).

The CSP allows no inline script or style at all: every script and stylesheet is a file under ``/static``. HSTS is
sent only over HTTPS (sending it over plain HTTP is ignored by browsers and would confuse local development).
"""

from __future__ import annotations

from flask import Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Other sites never learn which page (reset links carry a token) a visitor came from; our own forms keep the
    # same-origin Referer that Flask-WTF checks over HTTPS (WTF_CSRF_SSL_STRICT).
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype == "text/html":
        # Pages show patient data: never keep them in shared caches or the back-forward cache of a shared computer.
        headers.setdefault("Cache-Control", "no-store")
    return response
