"""Authentication failures (401): at the token endpoint (OAuth JSON errors) and on ``/fhir`` (OperationOutcome).

``error`` is the RFC 6749 §5.2 / RFC 6750 §3.1 code (``invalid_client``, ``invalid_token``, ``invalid_request``
…), so each surface can render the error its clients expect, with a ``WWW-Authenticate`` header.
"""

from __future__ import annotations


class AuthError(Exception):
    """The caller could not be authenticated.

    :param error: the OAuth error code.
    :param description: a human-readable reason (never contains the token or secret).
    :param client_id: the client the caller claimed to be, when known (for the audit log).
    """

    def __init__(self, error: str, description: str, *, status: int = 401, client_id: str | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.client_id = client_id

    def www_authenticate(self, scheme: str = "Bearer") -> str:
        safe = self.description.replace('"', "'")
        if self.error == "missing_token":
            return f'{scheme} realm="referral-hub"'
        return f'{scheme} realm="referral-hub", error="{self.error}", error_description="{safe}"'


__all__ = ["AuthError"]
