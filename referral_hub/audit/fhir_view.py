"""The audit log as read-only FHIR ``AuditEvent`` resources (R4): read, and search by ``patient``, ``agent``,
``date``, ``action``, ``outcome`` and ``_id``, newest first with keyset paging.

Rows are projected on the fly; there is no stored AuditEvent JSON to drift from the table.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from referral_hub.audit.models import ACTIONS, OUTCOMES, AuditEventRow
from referral_hub.audit.provenance import PRINCIPAL_SYSTEM
from referral_hub.fhir.datetimes import parse_range
from referral_hub.fhir.outcomes import FhirError
from referral_hub.fhir.references import parse_reference
from referral_hub.fhir.store import format_instant

DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
HUB_EVENT = "urn:referral-hub:audit-event-type"
REQUEST_ID_EXTENSION = "https://referral-hub.example.org/fhir/StructureDefinition/request-id"
SEARCH_PARAMS = ("patient", "agent", "date", "action", "outcome", "_id", "_count", "_cursor", "_format")
DEFAULT_COUNT = 50
MAX_COUNT = 1000

_TYPES: dict[str, dict[str, str]] = {
    "rest": {"system": EVENT_TYPE, "code": "rest", "display": "RESTful Operation"},
    "login": {"system": DCM, "code": "110114", "display": "User Authentication"},
    "token": {"system": DCM, "code": "110114", "display": "User Authentication"},
    "export": {"system": DCM, "code": "110106", "display": "Export"},
}
_SUBTYPES: dict[str, dict[str, str]] = {
    "login": {"system": DCM, "code": "110122", "display": "Login"},
    "logout": {"system": DCM, "code": "110123", "display": "Logout"},
}


def to_fhir(row: AuditEventRow, organization_refs: dict[int, str]) -> dict[str, Any]:
    """One audit row as an R4 AuditEvent."""
    recorded = format_instant(row.recorded_at)
    event_type = _TYPES.get(row.event_type, {"system": HUB_EVENT, "code": row.event_type})
    if row.event_type == "rest":
        subtype = {"system": RESTFUL_INTERACTION, "code": row.subtype}
    else:
        subtype = _SUBTYPES.get(row.subtype, {"system": HUB_EVENT, "code": row.subtype})
    agent: dict[str, Any] = {
        "who": {"identifier": {"system": PRINCIPAL_SYSTEM + row.principal_kind, "value": row.principal_id}},
        "requestor": True,
    }
    if row.source_address:
        agent["network"] = {"address": row.source_address, "type": "2"}
    agents = [agent]
    if row.organization_id is not None and row.organization_id in organization_refs:
        agents.append({"who": {"reference": organization_refs[row.organization_id]}, "requestor": False})
    entities: list[dict[str, Any]] = []
    if row.resource_type and row.resource_id:
        what = f"{row.resource_type}/{row.resource_id}"
        if row.version_id is not None:
            what += f"/_history/{row.version_id}"
        entities.append(
            {
                "what": {"reference": what},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2"},
            }
        )
    elif row.resource_type:
        entities.append({"what": {"display": row.resource_type}})
    if row.query:
        target = entities[0] if entities else {}
        target["detail"] = [{"type": "query-parameters", "valueString": row.query}]
        if not entities:
            entities.append(target)
    if row.patient_ref:
        entities.append(
            {
                "what": {"reference": row.patient_ref},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"},
            }
        )
    body: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(row.id),
        "meta": {"versionId": "1", "lastUpdated": recorded},
        "type": event_type,
        "subtype": [subtype],
        "action": row.action,
        "recorded": recorded,
        "outcome": row.outcome,
        "agent": agents,
        "source": {
            "observer": {"display": "referral-hub"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"}],
        },
    }
    if row.outcome_desc:
        body["outcomeDesc"] = row.outcome_desc
    if entities:
        body["entity"] = entities
    if row.request_id:
        body["extension"] = [{"url": REQUEST_ID_EXTENSION, "valueString": row.request_id}]
    return body


def organization_refs(session: Session, rows: Iterable[AuditEventRow]) -> dict[int, str]:
    from referral_hub.accounts.models import Organization

    ids = {row.organization_id for row in rows if row.organization_id is not None}
    if not ids:
        return {}
    return {
        org_id: f"Organization/{fhir_id}"
        for org_id, fhir_id in session.execute(
            select(Organization.id, Organization.fhir_id).where(Organization.id.in_(ids))
        )
    }


def read(session: Session, event_id: str) -> dict[str, Any]:
    """:raises FhirError: 404 when there is no such row."""
    row = session.get(AuditEventRow, int(event_id)) if event_id.isdigit() else None
    if row is None:
        raise FhirError.single(404, "not-found", f"AuditEvent/{event_id} is not known")
    return to_fhir(row, organization_refs(session, [row]))


@dataclass
class AuditPage:
    entries: list[dict[str, Any]]
    next_cursor: str | None


def _bad(message: str, expression: str) -> FhirError:
    return FhirError.single(400, "invalid", message, expression)


def _values(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def _conditions(args: Sequence[tuple[str, str]], bases: tuple[str, ...]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for name, value in args:
        if name in ("_count", "_cursor", "_format"):
            continue
        values = _values(value)
        if not values:
            raise _bad(f"{name} needs a value", name)
        if name == "_id":
            conditions.append(AuditEventRow.id.in_([int(v) for v in values if v.isdigit()]) if values else false())
        elif name == "patient":
            refs = []
            for v in values:
                parsed = parse_reference(v if "/" in v else f"Patient/{v}", bases)
                if parsed is None or parsed.target_type != "Patient":
                    raise _bad(f"'{v}' is not a Patient reference", name)
                refs.append(f"Patient/{parsed.target_id}")
            conditions.append(AuditEventRow.patient_ref.in_(refs))
        elif name == "agent":
            conditions.append(or_(*(_agent_condition(v, bases) for v in values)))
        elif name == "action":
            if any(v not in ACTIONS for v in values):
                raise _bad(f"action is one of {', '.join(ACTIONS)}", name)
            conditions.append(AuditEventRow.action.in_(values))
        elif name == "outcome":
            if any(v not in OUTCOMES for v in values):
                raise _bad(f"outcome is one of {', '.join(OUTCOMES)}", name)
            conditions.append(AuditEventRow.outcome.in_(values))
        elif name == "date":
            conditions.append(or_(*(_date_condition(v) for v in values)))
        else:
            raise FhirError.single(400, "not-supported", f"AuditEvent does not support search parameter '{name}'", name)
    return conditions


def _agent_condition(value: str, bases: tuple[str, ...]) -> ColumnElement[bool]:
    """``agent`` = a principal id, ``<kind>|<id>`` or an ``Organization/<id>`` reference."""
    from referral_hub.accounts.models import Organization

    if value.startswith("Organization/") or "/Organization/" in value:
        parsed = parse_reference(value, bases)
        fhir_id = parsed.target_id if parsed is not None else None
        return AuditEventRow.organization_id.in_(select(Organization.id).where(Organization.fhir_id == fhir_id))
    if "|" in value:
        system, _, principal_id = value.partition("|")
        kind = system.removeprefix(PRINCIPAL_SYSTEM)
        return and_(AuditEventRow.principal_kind == kind, AuditEventRow.principal_id == principal_id)
    return AuditEventRow.principal_id == value


def _date_condition(value: str) -> ColumnElement[bool]:
    prefix, text = (value[:2], value[2:]) if value[:2] in ("eq", "gt", "lt", "ge", "le") else ("eq", value)
    parsed = parse_range(text)
    if parsed is None:
        raise _bad(f"'{text}' is not a FHIR date, dateTime or instant", "date")
    low, high = parsed
    col = AuditEventRow.recorded_at
    return {
        "eq": and_(col >= low, col <= high),
        "gt": col > high,
        "lt": col < low,
        "ge": col >= low,
        "le": col <= high,
    }[prefix]


def search(session: Session, args: Sequence[tuple[str, str]], bases: tuple[str, ...]) -> AuditPage:
    """One page of matching events, newest first. :raises FhirError: 400 on a bad parameter."""
    count = DEFAULT_COUNT
    query = select(AuditEventRow).where(*_conditions(args, bases))
    for name, value in args:
        if name == "_count":
            if not value.isdigit():
                raise _bad("_count must be a non-negative integer", "_count")
            count = min(int(value), MAX_COUNT)
        elif name == "_cursor":
            query = query.where(AuditEventRow.id < _decode_cursor(value))
    rows = list(session.execute(query.order_by(AuditEventRow.id.desc()).limit(count + 1)).scalars())
    more = len(rows) > count
    rows = rows[:count]
    refs = organization_refs(session, rows)
    next_cursor = _encode_cursor(rows[-1].id) if more and rows else None
    return AuditPage([to_fhir(row, refs) for row in rows], next_cursor)


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad("The paging cursor is not valid; start the search again", "_cursor") from None


__all__ = ["AuditPage", "read", "search", "to_fhir"]
