"""The acting principal: one shape for staff users, API clients, patients (via links) and the system itself.

Every authorization decision takes a :class:`Principal`, whichever door the request came through (web session,
bearer token, patient link, job, CLI), so the rules live in one policy module and cannot diverge between UI and API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flask import g, has_request_context

PrincipalKind = Literal["user", "client", "patient", "system"]
ROLES = ("clinic_staff", "cbo_staff", "cbo_admin", "program_manager", "admin")


@dataclass(frozen=True)
class Principal:
    """Who acts, for which organization, with which roles (users) or scopes (API clients).

    :param organization_id: the hub organization (``accounts`` table id) the principal acts for; None for system.
    :param organization_ref: the FHIR reference of that organization, e.g. ``Organization/<id>``.
    :param all_compartments: program-level integration clients only; lifts the compartment limit, not the scopes.
    """

    kind: PrincipalKind
    id: str
    organization_id: int | None = None
    organization_ref: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    all_compartments: bool = False

    @property
    def is_system(self) -> bool:
        return self.kind == "system"


#: Jobs and CLI commands act as the system (their trigger was authorized when it was enqueued).
SYSTEM = Principal(kind="system", id="system", all_compartments=True)


def set_current_principal(principal: Principal | None) -> None:
    """Called by the authentication layers (session login, bearer token, patient link) for this request."""
    g.principal = principal


def current_principal() -> Principal | None:
    """The principal of the current request, or None when unauthenticated / outside a request."""
    if not has_request_context():
        return None
    return g.get("principal")
