"""Reading the clinic's patients from the FHIR store for the staff pages.

Visibility (issue 3 scope 4: "clinic users see their clinic's patients") comes from the policy module
(``referral_hub.policy.Access``), the same filter the FHIR API applies, so the UI cannot show more than the API
would: a Patient is the clinic's when the clinic created it or is party to one of its referrals. Without the policy
package, :func:`clinic_scope` approximates it from the compartment table and ``managingOrganization``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from referral_hub.fhir.models import FhirResource, ReferenceIndex
from referral_hub.fhir.search import ScopeFilter, execute_search, parse_search
from referral_hub.security.principal import Principal

PAGE_SIZE = 25


def visibility_scope(session: Session, principal: Principal, local_bases: tuple[str, ...]) -> ScopeFilter | None:
    """The policy module's compartment filter when it is installed, else :func:`clinic_scope`."""
    try:
        from referral_hub.policy import Access
    except ImportError:  # the policy package is not installed in this build
        return clinic_scope(principal)
    return Access(session, principal, local_bases).search_scope()


def clinic_scope(principal: Principal) -> ScopeFilter:
    """Fallback ``ScopeFilter``: patients in the clinic's compartment or managed by the clinic."""
    from referral_hub.policy.models import FhirCompartment

    organization_id = principal.organization_id
    fhir_id = (principal.organization_ref or "").removeprefix("Organization/")

    def scope(query: Select[Any]) -> Select[Any]:
        if organization_id is None:
            return query.where(FhirResource.pk.is_(None))
        in_compartment = select(FhirCompartment.resource_pk).where(FhirCompartment.organization_id == organization_id)
        managed = select(ReferenceIndex.resource_pk).where(
            and_(
                ReferenceIndex.resource_type == "Patient",
                ReferenceIndex.param == "organization",
                ReferenceIndex.target_type == "Organization",
                ReferenceIndex.target_id == fhir_id,
            )
        )
        return query.where(or_(FhirResource.pk.in_(in_compartment), FhirResource.pk.in_(managed)))

    return scope


@dataclass(frozen=True)
class PatientSummary:
    """What the staff pages show of a Patient (from its FHIR body; nothing is copied elsewhere)."""

    id: str
    name: str
    birth_date: date | None
    gender: str | None
    language: str | None
    identifiers: list[tuple[str, str]]
    phones: list[str]
    addresses: list[str]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PatientSummary:
        return cls(
            id=body["id"],
            name=_name(body),
            birth_date=_date(body.get("birthDate")),
            gender=body.get("gender"),
            language=_language(body),
            identifiers=[
                (_identifier_label(i), str(i.get("value"))) for i in body.get("identifier", []) if i.get("value")
            ],
            phones=[t["value"] for t in body.get("telecom", []) if t.get("system") == "phone" and t.get("value")],
            addresses=[_address(a) for a in body.get("address", [])],
        )


def _name(body: dict[str, Any]) -> str:
    names = body.get("name") or []
    preferred = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not preferred:
        return ""
    if preferred.get("text"):
        return str(preferred["text"])
    return " ".join([*preferred.get("given", []), preferred.get("family", "")]).strip()


def _date(value: Any) -> date | None:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _language(body: dict[str, Any]) -> str | None:
    communications = body.get("communication") or []
    chosen = next((c for c in communications if c.get("preferred")), communications[0] if communications else None)
    if not chosen:
        return None
    language = chosen.get("language") or {}
    codings = language.get("coding") or []
    return language.get("text") or (codings[0].get("display") or codings[0].get("code") if codings else None)


def _identifier_label(identifier: dict[str, Any]) -> str:
    kind = identifier.get("type") or {}
    codings = kind.get("coding") or []
    return kind.get("text") or (codings[0].get("code") if codings else "") or identifier.get("system", "")


def _address(address: dict[str, Any]) -> str:
    if address.get("text"):
        return str(address["text"])
    parts = [*address.get("line", []), address.get("city"), address.get("state"), address.get("postalCode")]
    return ", ".join(p for p in parts if p)


def search_patients(
    session: Session, principal: Principal, local_bases: tuple[str, ...], query: str = ""
) -> tuple[list[PatientSummary], int]:
    """The clinic's patients whose name matches ``query`` (all when empty), first page, with the total."""
    args = [("_count", str(PAGE_SIZE))]
    if query.strip():
        args.append(("name", query.strip()))
    request = parse_search("Patient", args, local_bases)
    result = execute_search(session, request, visibility_scope(session, principal, local_bases))
    return [PatientSummary.from_body(row.body) for row in result.matches], result.total or 0


def read_patient(
    session: Session, principal: Principal, local_bases: tuple[str, ...], patient_id: str
) -> PatientSummary | None:
    """The patient when the clinic may see it, else None (the page answers 404 either way: no existence leak)."""
    query = select(FhirResource).where(FhirResource.resource_type == "Patient", FhirResource.resource_id == patient_id)
    scope = visibility_scope(session, principal, local_bases)
    if scope is not None:
        query = scope(query)
    row = session.execute(query).scalar_one_or_none()
    return PatientSummary.from_body(row.body) if row is not None else None
