"""Audit helpers for the FHIR REST layer: reads, searches and refusals.

Directory types (Organization, Location …) carry no patient data and are not audited on read; every other read
and every search is. A search writes one row per distinct patient among the returned entries (so "who looked at
this patient" finds searches too), or a single row when no patient is involved. Only the parameter *names* of a
search are kept: values can be names or birth dates.

Read and search audit rows commit with relaxed durability (``fhir/batch.relax_durability``): the commit does not
wait for the WAL flush, so a read does not pay a disk flush, at the risk of losing the last fraction of a second of
read-audit rows in a database crash (never data, and never write-audit rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from referral_hub.audit.patients import patient_reference
from referral_hub.audit.record import MINOR_FAILURE, audit_row, record, record_many
from referral_hub.fhir.batch import relax_durability
from referral_hub.policy.compartments import PUBLIC_TYPES

#: At most this many per-patient rows for one search page (a page holds at most 1000 matches).
MAX_PATIENT_ROWS = 1000


def record_read(
    session: Session, interaction: str, body: dict[str, Any], bases: tuple[str, ...], version_id: int | None = None
) -> None:
    """A read, vread or history of one resource (nothing for public directory types)."""
    resource_type = body.get("resourceType")
    if resource_type in PUBLIC_TYPES:
        return
    relax_durability(session)
    record(
        session,
        event_type="rest",
        subtype=interaction,
        action="R",
        resource_type=resource_type,
        resource_id=body.get("id"),
        version_id=version_id,
        patient_ref=patient_reference(body, bases),
    )


def record_search(
    session: Session,
    resource_type: str,
    param_names: Iterable[str],
    bodies: Iterable[dict[str, Any]],
    bases: tuple[str, ...],
) -> None:
    """One search (FHIR action E): a row per distinct patient in the results, or one row."""
    if resource_type in PUBLIC_TYPES:
        return
    query = ",".join(sorted({name.split(":")[0] for name in param_names}))
    patients: list[str] = []
    for body in bodies:
        ref = patient_reference(body, bases)
        if ref is not None and ref not in patients:
            patients.append(ref)
            if len(patients) >= MAX_PATIENT_ROWS:
                break
    common = {"event_type": "rest", "subtype": "search-type", "action": "E", "resource_type": resource_type}
    relax_durability(session)
    record_many(
        session,
        [audit_row(**common, query=query, patient_ref=p) for p in patients] or [audit_row(**common, query=query)],
    )


def record_refusal(
    session: Session,
    *,
    interaction: str,
    resource_type: str | None,
    resource_id: str | None,
    description: str,
    action: str | None = None,
) -> None:
    """An authentication or authorization refusal (outcome 4)."""
    letter = action or {"create": "C", "update": "U", "delete": "D", "search": "E"}.get(interaction, "R")
    record(
        session,
        event_type="rest",
        subtype={"search": "search-type", "history": "history-instance"}.get(interaction, interaction),
        action=letter,
        outcome=MINOR_FAILURE,
        outcome_desc=description,
        resource_type=resource_type,
        resource_id=resource_id,
    )


def search_param_names(args: Sequence[tuple[str, str]]) -> list[str]:
    return [name for name, _value in args if name not in ("_cursor", "_format", "_pretty")]


__all__ = ["record_read", "record_refusal", "record_search", "search_param_names"]
