"""The patient a staff member is finding services for: home address and preferred language, read through the policy.

Why server-side: the search page is opened as ``/directory/?patient=<id>``; the address is read here, with the
same compartment rule as the FHIR API and the patient pages (``referral_hub.policy.Access``), audited as a read,
and used to prefill the form. It never travels in a URL (URLs end up in logs, history and Referer headers): the
form sends ``where=patient`` and the server reads the address again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.audit import record
from referral_hub.fhir.models import FhirResource
from referral_hub.policy import Access, AccessDenied
from referral_hub.security.principal import Principal


@dataclass(frozen=True)
class PatientContext:
    id: str
    name: str
    address: str | None  # one line, for display and geocoding
    language: str | None  # an ISO 639 code when the record has one


def _address(body: dict[str, Any]) -> str | None:
    addresses = body.get("address") or []
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else None)
    if not home:
        return None
    if home.get("text"):
        return str(home["text"])
    parts = [
        *home.get("line", []),
        home.get("city"),
        " ".join(p for p in (home.get("state"), home.get("postalCode")) if p),
    ]
    return ", ".join(p for p in parts if p) or None


def _language(body: dict[str, Any]) -> str | None:
    from resource_directory.search import resolve_language

    communications = body.get("communication") or []
    chosen = next((c for c in communications if c.get("preferred")), communications[0] if communications else None)
    for coding in ((chosen or {}).get("language") or {}).get("coding") or []:
        code = str(coding.get("code") or "").split("-")[0]
        if code and resolve_language(code) is not None:
            return code.lower()
    return None


def _name(body: dict[str, Any]) -> str:
    names = body.get("name") or []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not name:
        return ""
    return str(name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip())


def read_patient_context(session: Session, principal: Principal, patient_id: str) -> PatientContext | None:
    """The patient when the principal may read it (audited), else None — the caller answers 404 either way."""
    access = Access(session, principal, (current_app.config["FHIR_BASE_URL"],))
    try:
        access.require("Patient", "read", patient_id)
    except AccessDenied:
        return None
    statement = select(FhirResource).where(
        FhirResource.resource_type == "Patient", FhirResource.resource_id == patient_id
    )
    scope = access.search_scope()
    if scope is not None:
        statement = scope(statement)
    row = session.execute(statement).scalar_one_or_none()
    if row is None:
        return None
    record(
        session,
        event_type="ui",
        subtype="read",
        action="R",
        principal=principal,
        resource_type="Patient",
        resource_id=patient_id,
        patient_ref=f"Patient/{patient_id}",
        query="directory-search",
    )
    body = row.body
    return PatientContext(id=patient_id, name=_name(body), address=_address(body), language=_language(body))
