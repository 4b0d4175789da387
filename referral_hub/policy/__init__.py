"""The one authorization module for the UI, the FHIR API and jobs (issue 3, scope 4).

* :class:`Access` — per-principal decisions: ``require`` (scopes/roles → 403), ``search_scope`` (compartment
  filter for searches and includes), ``check_visible`` (→ 404), ``check_create`` and ``check_update`` (→ 403).
* :mod:`compartments` — which organization sees which resource, kept in ``fhir_compartment`` by write hooks.
* :mod:`permissions` — role- and scope-derived permissions.

``init_app`` installs the write hooks; call it once from the app factory.
"""

from __future__ import annotations

from flask import Flask

from referral_hub.policy.access import Access, AccessDenied, Target, visible_condition
from referral_hub.policy.compartments import PUBLIC_TYPES, organizations_for_reference, refresh_task_grants
from referral_hub.policy.permissions import (
    AUDIT_EXPORT_ROLES,
    READ_ALL_ROLES,
    effective_scopes,
    permits,
    reads_all_compartments,
)


def init_app(app: Flask) -> None:
    from referral_hub.policy import hooks

    hooks.install()


__all__ = [
    "AUDIT_EXPORT_ROLES",
    "PUBLIC_TYPES",
    "READ_ALL_ROLES",
    "Access",
    "AccessDenied",
    "Target",
    "effective_scopes",
    "init_app",
    "organizations_for_reference",
    "permits",
    "reads_all_compartments",
    "refresh_task_grants",
    "visible_condition",
]
