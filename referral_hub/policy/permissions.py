"""What a principal may do per FHIR interaction, before compartments: scopes for clients, roles for users.

Users get role-derived permissions written in the same SMART scope notation clients use, so one check serves
both (issue 3, scope 4):

* ``clinic_staff``, ``cbo_staff``, ``cbo_admin`` — create, read, update and search clinical data, inside their
  organization's compartment;
* ``program_manager`` — read and search everything (reporting) and the audit log; no writes;
* ``admin`` — like staff for writes, read-everything like a program manager, and the audit log.

Deletes are not offered by the FHIR API at all. The audit log (``AuditEvent``) is never covered by a ``*``
scope: it needs ``system/AuditEvent.rs`` by name, which only program-organization clients can be registered for.
Patient principals (patient links) get nothing here: their access is a separate, narrower door.
"""

from __future__ import annotations

from referral_hub.auth.scopes import allows
from referral_hub.security.principal import Principal

ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "clinic_staff": ("system/*.crus",),
    "cbo_staff": ("system/*.crus",),
    "cbo_admin": ("system/*.crus",),
    "program_manager": ("system/*.rs", "system/AuditEvent.rs"),
    "admin": ("system/*.crus", "system/AuditEvent.rs"),
}
#: Roles that read every compartment (reporting) — reads only; their writes follow the ordinary rules.
READ_ALL_ROLES = frozenset({"program_manager", "admin"})
#: Roles that may export the audit log as CSV.
AUDIT_EXPORT_ROLES = frozenset({"admin"})

_SYSTEM_SCOPES = ("system/*.cruds", "system/AuditEvent.rs")


def effective_scopes(principal: Principal) -> tuple[str, ...]:
    """The scope strings that bound ``principal``'s interactions."""
    if principal.kind == "system":
        return _SYSTEM_SCOPES
    if principal.kind == "client":
        return tuple(principal.scopes)
    if principal.kind == "user":
        return tuple(scope for role in sorted(principal.roles) for scope in ROLE_SCOPES.get(role, ()))
    return ()


def permits(principal: Principal, resource_type: str, interaction: str) -> bool:
    """Whether ``principal`` may perform ``interaction`` (create/read/vread/history/update/search) on the type."""
    return allows(effective_scopes(principal), resource_type, interaction)


def reads_all_compartments(principal: Principal) -> bool:
    return principal.kind == "system" or principal.all_compartments or bool(principal.roles & READ_ALL_ROLES)


def writes_all_compartments(principal: Principal) -> bool:
    """The hub itself and program integration clients act with the authority of every organization."""
    return principal.kind == "system" or (principal.kind == "client" and principal.all_compartments)


__all__ = [
    "AUDIT_EXPORT_ROLES",
    "READ_ALL_ROLES",
    "ROLE_SCOPES",
    "effective_scopes",
    "permits",
    "reads_all_compartments",
    "writes_all_compartments",
]
