"""Provenance on every write, and the write's audit row, in the writing transaction (issue 3, scope 5).

Every create or update of a stored resource is a ``target`` of a FHIR ``Provenance`` naming its exact version
(``Type/id/_history/n``), with ``recorded``, agent = who acted and the organization on whose behalf, and activity
CREATE or UPDATE; each write also gets its own C/U audit row. A transaction writes one Provenance per (principal,
activity) whose ``target`` lists every version it wrote (FHIR ``Provenance.target`` is 1..*): a screening
submission stores the response and a dozen extracted resources, and one Provenance per resource cost about
2.5 ms of app CPU and 2.5–4 ms of PostgreSQL CPU per submission (issue 4). The write hook only notes the version;
the Provenance is built when the batch is flushed (``referral_hub.fhir.batch``: at commit, or before a read in
the same transaction, which then starts a new Provenance for the writes after it), so it commits or rolls back
with the writes; a batch Bundle entry, flushed in its own savepoint, gets its own. ``recorded`` and
``meta.lastUpdated`` are the latest ``lastUpdated`` of the versions it lists. At most :data:`MAX_TARGETS` targets
go in one Provenance (a bulk ``fhir load`` of many thousand resources gets several).

Cost: the Provenance is a real stored resource (read, vread, search ``Provenance?target=…`` and
``_revinclude=Provenance:target`` work through the ordinary FHIR layer and the compartment rules: it is visible
to whoever sees one of its targets), but it is written with three Core INSERTs — the current row, its version
row and one ``target`` index row per target resource — without the validator, the general indexer or further
hooks, which would cost more than the writes themselves. The body is built by the hub from known-good parts,
and a test validates it against the R4 model.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from referral_hub.audit.patients import patient_reference
from referral_hub.audit.record import audit_row, record_many
from referral_hub.fhir.batch import before_batch_flush, defer_resource, defer_state, pop_state
from referral_hub.fhir.hooks import WriteEvent, on_write
from referral_hub.fhir.models import ReferenceIndex
from referral_hub.fhir.search_params import all_resource_types
from referral_hub.fhir.store import format_instant
from referral_hub.security.principal import SYSTEM, Principal, current_principal

DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
#: Identifier systems naming hub principals (users, API clients, the hub itself) in Provenance and AuditEvent.
PRINCIPAL_SYSTEM = "urn:referral-hub:principal:"
#: Targets per Provenance at most: any transaction Bundle (``bundles.MAX_ENTRIES``) fits in one.
MAX_TARGETS = 1000
_PENDING = "provenance.written"


def agent_who(principal: Principal) -> dict[str, Any]:
    """A Reference naming the principal by identifier (users and clients are not FHIR resources)."""
    return {"identifier": {"system": PRINCIPAL_SYSTEM + principal.kind, "value": principal.id}}


def provenance_body(written: Sequence[WriteEvent], principal: Principal, provenance_id: str) -> dict[str, Any]:
    """The Provenance of the versions in ``written`` (one activity, one principal, in the order written)."""
    instant = format_instant(max(w.last_updated for w in written))
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author", "display": "Author"}]},
        "who": agent_who(principal),
    }
    if principal.organization_ref:
        agent["onBehalfOf"] = {"reference": principal.organization_ref}
    activity = "CREATE" if written[0].previous is None else "UPDATE"
    return {
        "resourceType": "Provenance",
        "id": provenance_id,
        "meta": {"versionId": "1", "lastUpdated": instant},
        "target": [{"reference": f"{w.resource_type}/{w.resource_id}/_history/{w.version_id}"} for w in written],
        "recorded": instant,
        "activity": {"coding": [{"system": DATA_OPERATION, "code": activity}]},
        "agent": [agent],
    }


def _target_rows(written: Sequence[WriteEvent]) -> list[dict[str, Any]]:
    """One ``target`` index row per resource (a resource written twice by the same activity is listed once)."""
    resources = dict.fromkeys((w.resource_type, w.resource_id) for w in written)
    return [{"param": "target", "target_type": t, "target_id": i, "url": None} for t, i in resources]


def record_write(session: Session, written: WriteEvent) -> None:
    """Write hook: note this version for the transaction's Provenance, and append its C/U audit row."""
    if written.resource_type == "Provenance":
        return
    principal = current_principal() or SYSTEM
    created = written.previous is None
    defer_state(session, _PENDING).setdefault((principal, created), []).append(written)
    bases = (current_app.config["FHIR_BASE_URL"].rstrip("/"),) if has_app_context() else ()
    record_many(
        session,
        [
            audit_row(
                event_type="rest",
                subtype="create" if created else "update",
                action="C" if created else "U",
                principal=principal,
                resource_type=written.resource_type,
                resource_id=written.resource_id,
                version_id=written.version_id,
                patient_ref=patient_reference(written.body, bases),
            )
        ],
    )


def write_provenances(session: Session) -> None:
    """Batch flush: one Provenance per (principal, activity) listing the versions written since the last flush.

    It joins the batch (current row, version row and the ``target`` index rows — Provenance is searched by target
    only, so it gets no other index rows).
    """
    for (principal, _created), written in pop_state(session, _PENDING).items():
        for start in range(0, len(written), MAX_TARGETS):
            chunk = written[start : start + MAX_TARGETS]
            body = provenance_body(chunk, principal, str(uuid.uuid4()))
            last_updated = max(w.last_updated for w in chunk)
            defer_resource(session, body, last_updated, {ReferenceIndex: _target_rows(chunk)})


def install() -> None:
    on_write(*[t for t in all_resource_types() if t != "Provenance"])(record_write)
    before_batch_flush(write_provenances)


__all__ = [
    "MAX_TARGETS",
    "PRINCIPAL_SYSTEM",
    "agent_who",
    "install",
    "provenance_body",
    "record_write",
    "write_provenances",
]
