"""Provenance on every write, and the write's audit row, in the writing transaction (issue 3, scope 5).

Each create or update of a stored resource gets a FHIR ``Provenance`` (target = the exact version written,
``recorded``, agent = who acted and the organization on whose behalf, activity CREATE/UPDATE) and a C/U audit
row. Both are added by a write hook, so they commit or roll back with the write itself.

Cost: the Provenance is a real stored resource (read, vread, search ``Provenance?target=…`` and
``_revinclude=Provenance:target`` work through the ordinary FHIR layer and the compartment rules), but it is
written with three Core INSERTs — the current row, its version row and its single ``target`` index row — without
the validator, the general indexer or further hooks, which would cost more than the Task write itself. The body
is built by the hub from known-good parts, and a test validates it against the R4 model.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from referral_hub.audit.patients import patient_reference
from referral_hub.audit.record import audit_row, record_many
from referral_hub.fhir.batch import defer_resource
from referral_hub.fhir.hooks import WriteEvent, on_write
from referral_hub.fhir.models import ReferenceIndex
from referral_hub.fhir.search_params import all_resource_types
from referral_hub.fhir.store import format_instant
from referral_hub.security.principal import SYSTEM, Principal, current_principal

DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
#: Identifier systems naming hub principals (users, API clients, the hub itself) in Provenance and AuditEvent.
PRINCIPAL_SYSTEM = "urn:referral-hub:principal:"


def agent_who(principal: Principal) -> dict[str, Any]:
    """A Reference naming the principal by identifier (users and clients are not FHIR resources)."""
    return {"identifier": {"system": PRINCIPAL_SYSTEM + principal.kind, "value": principal.id}}


def provenance_body(written: WriteEvent, principal: Principal, provenance_id: str) -> dict[str, Any]:
    instant = format_instant(written.last_updated)
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}]},
        "who": agent_who(principal),
    }
    if principal.organization_ref:
        agent["onBehalfOf"] = {"reference": principal.organization_ref}
    activity = "CREATE" if written.previous is None else "UPDATE"
    return {
        "resourceType": "Provenance",
        "id": provenance_id,
        "meta": {"versionId": "1", "lastUpdated": instant},
        "target": [{"reference": f"{written.resource_type}/{written.resource_id}/_history/{written.version_id}"}],
        "recorded": instant,
        "activity": {"coding": [{"system": DATA_OPERATION, "code": activity}]},
        "agent": [agent],
    }


def _target_row(written: WriteEvent) -> dict[str, Any]:
    return {"param": "target", "target_type": written.resource_type, "target_id": written.resource_id, "url": None}


def record_write(session: Session, written: WriteEvent) -> None:
    """Write hook: the Provenance of this version and the C/U audit row."""
    if written.resource_type == "Provenance":
        return
    principal = current_principal() or SYSTEM
    provenance_id = str(uuid.uuid4())
    body = provenance_body(written, principal, provenance_id)
    # Joins the write's batch (current row, version row, the ``target`` index row — Provenance is searched by
    # target only, so it gets no other index rows).
    defer_resource(session, body, written.last_updated, {ReferenceIndex: [_target_row(written)]})
    bases = (current_app.config["FHIR_BASE_URL"].rstrip("/"),) if has_app_context() else ()
    record_many(
        session,
        [
            audit_row(
                event_type="rest",
                subtype="create" if written.previous is None else "update",
                action="C" if written.previous is None else "U",
                principal=principal,
                resource_type=written.resource_type,
                resource_id=written.resource_id,
                version_id=written.version_id,
                patient_ref=patient_reference(written.body, bases),
            )
        ],
    )


def install() -> None:
    on_write(*[t for t in all_resource_types() if t != "Provenance"])(record_write)


__all__ = ["PRINCIPAL_SYSTEM", "agent_who", "install", "provenance_body", "record_write"]
