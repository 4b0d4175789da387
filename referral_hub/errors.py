"""The hub's exception hierarchy; HTTP mapping happens in one place per surface (FHIR, UI)."""

from __future__ import annotations


class HubError(Exception):
    """Base of every expected, user-facing error."""

    http_status = 400


class NotFound(HubError):
    """The addressed thing does not exist (or the caller may not know it exists)."""

    http_status = 404


class PermissionDenied(HubError):
    """The caller is known but may not do this."""

    http_status = 403


class Conflict(HubError):
    """The request conflicts with the current state (duplicate, illegal transition)."""

    http_status = 409


class PreconditionFailed(HubError):
    """An ``If-Match`` version did not match the current version."""

    http_status = 412


class ExternalServiceError(HubError):
    """A partner system, gateway or provider failed; callers usually retry."""

    http_status = 502
