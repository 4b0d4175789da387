"""``record(...)``: the one way to write the audit log, used by the FHIR layer, logins, the token endpoint and the
policy's refusals.

Rows are inserted with one Core INSERT in the caller's session, so an audited write commits (or rolls back)
together with its audit row. Read-side callers (FHIR reads and searches, refusals) commit right after. Who and
from where default to the current request: the principal set by the authentication layer, the remote address
and the request id the logging layer assigned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy.orm import Session

from referral_hub.audit.models import ACTIONS, OUTCOMES, AuditEventRow
from referral_hub.db_types import utcnow
from referral_hub.fhir.batch import defer_rows
from referral_hub.security.principal import SYSTEM, Principal, current_principal

#: Outcome codes by name, for readability at call sites.
SUCCESS, MINOR_FAILURE, SERIOUS_FAILURE, MAJOR_FAILURE = OUTCOMES


def _clip(value: str | None, length: int) -> str | None:
    return value if value is None or len(value) <= length else value[:length]


def audit_row(
    *,
    event_type: str,
    subtype: str,
    action: str,
    outcome: str = SUCCESS,
    outcome_desc: str | None = None,
    principal: Principal | None = None,
    principal_kind: str | None = None,
    principal_id: str | None = None,
    organization_id: int | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    version_id: int | None = None,
    patient_ref: str | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    """The column values of one audit row (see :func:`record` for the parameters)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    who = principal or current_principal() or SYSTEM
    in_request = has_request_context()
    return {
        "recorded_at": utcnow(),
        "event_type": event_type,
        "subtype": subtype,
        "action": action,
        "outcome": outcome,
        "outcome_desc": _clip(outcome_desc, 255),
        "principal_kind": principal_kind or who.kind,
        "principal_id": _clip(principal_id or who.id, 128),
        "organization_id": organization_id if organization_id is not None else who.organization_id,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "version_id": version_id,
        "patient_ref": _clip(patient_ref, 128),
        "query": _clip(query, 512),
        "source_address": _clip(request.remote_addr, 64) if in_request else None,
        "request_id": _clip(g.get("request_id"), 64) if in_request else None,
    }


def record(session: Session, **fields: Any) -> None:
    """Append one audit row in ``session``'s transaction (the caller commits).

    :param event_type: ``rest`` (FHIR API), ``login``, ``token``, ``export`` …
    :param subtype: the FHIR interaction or event (read, search-type, create, login, token-issued …).
    :param action: C/R/U/D/E (FHIR AuditEvent.action; a search is E).
    :param outcome: 0 success, 4 refused or bad request, 8/12 failures.
    :param principal: who acted; defaults to the request's principal, else the system.
    :param principal_kind, principal_id: override who, e.g. a failed login's claimed e-mail hash or client id.
    :param patient_ref: ``Patient/<id>`` the act concerns.
    :param query: search parameter names only, never their values.
    """
    defer_rows(session, AuditEventRow.__table__, [audit_row(**fields)])


def record_many(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Append several rows built with :func:`audit_row` in one statement."""
    defer_rows(session, AuditEventRow.__table__, list(rows))


__all__ = ["MAJOR_FAILURE", "MINOR_FAILURE", "SERIOUS_FAILURE", "SUCCESS", "audit_row", "record", "record_many"]
