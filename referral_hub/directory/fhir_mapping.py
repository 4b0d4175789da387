"""HSDS 3.0 objects → FHIR R4 ``Organization``, ``Location`` and ``HealthcareService`` (issue 5, scope 6).

Follows the HL7 FHIR Human Services Directory IG (``hl7.fhir.us.hsds`` STU1, Plan-Net aligned) element mapping:

=========================================  ===================================================================
HSDS                                       FHIR
=========================================  ===================================================================
organization.name / alternate_name         Organization.name / alias
organization.description                   Plan-Net ``org-description`` extension
organization.email / website / phones      Organization.telecom (email, url, phone/fax)
organization_identifier                    Organization.identifier (scheme → system, type → type.text)
organization.parent_organization_id        Organization.partOf
location.name / alternate_name / desc.     Location.name / alias / description
location.latitude / longitude              Location.position
location.addresses (physical, postal)      Location.address (first physical; postal only when no physical)
location.schedules (weekly RRULE)          Location.hoursOfOperation; descriptions → availabilityExceptions
location.organization_id                   Location.managingOrganization
location.location_type = virtual           Location.physicalType ``vi`` (virtual)
service.status                             HealthcareService.active (``active`` only)
service.organization_id                    HealthcareService.providedBy
service taxonomy terms                     HealthcareService.type (one coding per term, system = taxonomy URI)
  … through the SDOH crosswalk             HealthcareService.category (SDOHCC category codes)
service.name / description                 HealthcareService.name / comment (≤ 1 line) and extraDetails
service.service_at_locations               HealthcareService.location
service.languages                          HealthcareService.communication (BCP-47 code)
service.eligibility_description, ages      HealthcareService.eligibility
service.program                            HealthcareService.program
service.cost_options / fees                HealthcareService.serviceProvisionCode (free / cost)
service.schedules (weekly RRULE)           HealthcareService.availableTime; descriptions → availabilityExceptions
service.application_process                HealthcareService.referralMethod (text)
hub referral_status                        SDOHCC capacity-status extension (STU 3): capacity / waitlist /
                                           no-capacity
=========================================  ===================================================================

The functions are pure: they take HSDS JSON documents (the shape of the HSDS API and of ``*_full.json``) and
return FHIR JSON, so they are tested against the official HSDS examples as well as the hub's own rows. Every
projected resource carries ``referral_hub.fhir.tags.DIRECTORY_TAG``: the directory, not the FHIR API, is where it
is edited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from questionnaires.codes import SDOHCC_CATEGORIES
from referral_hub.fhir.tags import DIRECTORY_TAG
from referral_hub.fhir.validation.codes import CS_SDOHCC

PLAN_NET = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/"
EXT_ORG_DESCRIPTION = PLAN_NET + "org-description"
EXT_CAPACITY_STATUS = (
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ExtensionHealthcareServiceCapacityStatus"
)
CS_SERVICE_PROVISION = "http://terminology.hl7.org/CodeSystem/service-provision-conditions"
CS_LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BCP47 = "urn:ietf:bcp:47"
#: Identifier system for UUID-shaped HSDS ids (RFC 3986 ``urn:uuid:`` form), so partners can match records.
URI_SYSTEM = "urn:ietf:rfc:3986"

#: Hub referral state → SDOHCC capacity-status code (STU 3 ``SDOHCC-ValueSetCapacityStatus``).
CAPACITY_CODES = {
    "accepting": ("capacity", "Has Capacity"),
    "waitlist": ("waitlist", "Waitlist"),
    "paused": ("no-capacity", "No Capacity"),
}
_DAYS = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat", "SU": "sun"}
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://referral-hub.example.org/fhir/hsds-projection")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_PHONE_SYSTEMS = {"fax": "fax", "sms": "sms", "text": "sms", "pager": "pager"}


def fhir_id(kind: str, hsds_id: str) -> str:
    """The FHIR id of an HSDS object: its own id when that is a valid FHIR id, else a stable UUIDv5.

    HSDS ids are UUIDs in practice (every hub importer derives them), so resources keep the directory's ids and a
    partner can go from ``/hsds/services/{id}`` to ``/fhir/HealthcareService/{id}`` without a lookup.
    """
    if _FHIR_ID.fullmatch(hsds_id):
        return hsds_id
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}:{hsds_id}"))


def _meta() -> dict[str, Any]:
    return {"tag": [dict(DIRECTORY_TAG)]}


def _text(value: Any) -> str | None:
    """A non-empty stripped string, or None (FHIR forbids empty strings)."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _uuid_identifier(hsds_id: str) -> list[dict[str, Any]]:
    if _UUID.fullmatch(hsds_id):
        return [{"system": URI_SYSTEM, "value": f"urn:uuid:{hsds_id.lower()}"}]
    return []


def _phones(phones: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for phone in phones:
        number = _text(phone.get("number"))
        if number is None:
            continue
        if phone.get("extension") not in (None, ""):
            number = f"{number} ext. {phone['extension']}"
        point: dict[str, Any] = {"system": _PHONE_SYSTEMS.get(str(phone.get("type") or "").lower(), "phone")}
        point["value"] = number
        if str(phone.get("type") or "").lower() == "cell":
            point["use"] = "mobile"
        out.append(point)
    return out


def _telecom(phones: Iterable[Mapping[str, Any]], email: Any = None, url: Any = None) -> list[dict[str, Any]]:
    telecom = _phones(phones)
    if _text(email):
        telecom.append({"system": "email", "value": _text(email)})
    if _text(url):
        telecom.append({"system": "url", "value": _text(url)})
    return telecom


def _reference(kind: str, hsds_id: Any, display: Any = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"reference": f"{kind}/{fhir_id(kind, str(hsds_id))}"}
    if _text(display):
        reference["display"] = _text(display)
    return reference


def _fhir_time(value: Any) -> str | None:
    """HSDS ``opens_at``/``closes_at`` ("09:00", "9:00:00", "17:30-05:00") → FHIR ``time`` ("09:00:00")."""
    match = _TIME.match(str(value or "").strip())
    if match is None:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def _weekly(
    schedules: Sequence[Mapping[str, Any]], opens_key: str, closes_key: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Weekly RRULE schedules → FHIR available times; anything else (monthly, exceptions) → text.

    FHIR's ``availableTime``/``hoursOfOperation`` can only say "these weekdays, from–to"; the hub's search keeps
    full RRULE semantics, the FHIR projection says what FHIR can and carries the rest as text.
    """
    times: list[dict[str, Any]] = []
    texts: list[str] = []
    for schedule in schedules:
        days = [_DAYS[d] for d in re.findall(r"[A-Z]{2}", str(schedule.get("byday") or "").upper()) if d in _DAYS]
        weekly = str(schedule.get("freq") or "").upper() == "WEEKLY" and days
        if weekly:
            slot: dict[str, Any] = {"daysOfWeek": sorted(set(days), key=list(_DAYS.values()).index)}
            opens, closes = _fhir_time(schedule.get("opens_at")), _fhir_time(schedule.get("closes_at"))
            if opens and closes:
                slot[opens_key], slot[closes_key] = opens, closes
            else:
                slot["allDay"] = True
            if slot not in times:
                times.append(slot)
        for key in ("description", "notes"):
            text = _text(schedule.get(key))
            if text and text not in texts:
                texts.append(text)
    return times, texts


def _add_hours(resource: dict[str, Any], doc: Mapping[str, Any], element: str, keys: tuple[str, str]) -> None:
    """Location.hoursOfOperation and HealthcareService.availableTime: same idea, different element names."""
    hours, notes = _weekly(doc.get("schedules") or (), *keys)
    if hours:
        resource[element] = hours
    if notes:
        resource["availabilityExceptions"] = " ".join(notes)


def organization(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An HSDS ``organization`` document → FHIR Organization (HSD ``hsds-Organization`` mapping)."""
    hsds_id = str(doc["id"])
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": fhir_id("Organization", hsds_id),
        "meta": _meta(),
    }
    description = _text(doc.get("description"))
    if description:
        resource["extension"] = [{"url": EXT_ORG_DESCRIPTION, "valueString": description}]
    identifiers = _uuid_identifier(hsds_id)
    for item in doc.get("organization_identifiers") or ():
        value = _text(item.get("identifier"))
        if value is None:
            continue
        identifier: dict[str, Any] = {"value": value}
        scheme = _text(item.get("identifier_scheme"))
        if scheme and ":" in scheme:
            identifier["system"] = scheme
        kind = _text(item.get("identifier_type")) or scheme
        if kind:
            identifier["type"] = {"text": kind}
        identifiers.append(identifier)
    if identifiers:
        resource["identifier"] = identifiers
    resource["active"] = True
    resource["name"] = _text(doc.get("name")) or "Unnamed organization"
    if _text(doc.get("alternate_name")):
        resource["alias"] = [_text(doc.get("alternate_name"))]
    telecom = _telecom(doc.get("phones") or (), doc.get("email"), doc.get("website"))
    if telecom:
        resource["telecom"] = telecom
    if _text(doc.get("parent_organization_id")):
        resource["partOf"] = _reference("Organization", doc["parent_organization_id"])
    return resource


def _address(addresses: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    chosen = next((a for a in addresses if a.get("address_type") == "physical"), None)
    chosen = chosen or next((a for a in addresses if a.get("address_type") == "postal"), None)
    if chosen is None:
        return None
    address: dict[str, Any] = {
        "use": "work",
        "type": "physical" if chosen.get("address_type") == "physical" else "postal",
    }
    lines = [line for line in (_text(chosen.get("address_1")), _text(chosen.get("address_2"))) if line]
    if lines:
        address["line"] = lines
    for hsds_key, fhir_key in (
        ("city", "city"),
        ("region", "district"),
        ("state_province", "state"),
        ("postal_code", "postalCode"),
        ("country", "country"),
    ):
        if _text(chosen.get(hsds_key)):
            address[fhir_key] = _text(chosen.get(hsds_key))
    return address


def location(doc: Mapping[str, Any], *, active: bool = True) -> dict[str, Any]:
    """An HSDS ``location`` document (with addresses, phones, schedules) → FHIR Location (``hsds-Location``)."""
    hsds_id = str(doc["id"])
    resource: dict[str, Any] = {"resourceType": "Location", "id": fhir_id("Location", hsds_id), "meta": _meta()}
    identifiers = _uuid_identifier(hsds_id)
    external = _text(doc.get("external_identifier"))
    if external:
        identifier: dict[str, Any] = {"value": external}
        if _text(doc.get("external_identifier_type")):
            identifier["type"] = {"text": _text(doc.get("external_identifier_type"))}
        identifiers.append(identifier)
    if identifiers:
        resource["identifier"] = identifiers
    resource["status"] = "active" if active else "inactive"
    address = _address(doc.get("addresses") or ())
    # US Core Location requires a name; HSDS makes it optional: fall back to the street address.
    name = _text(doc.get("name")) or (", ".join(address.get("line", [])) if address else None)
    resource["name"] = name or "Unnamed location"
    if _text(doc.get("alternate_name")):
        resource["alias"] = [_text(doc.get("alternate_name"))]
    description = " ".join(t for t in (_text(doc.get("description")), _text(doc.get("transportation"))) if t)
    if description:
        resource["description"] = description
    resource["mode"] = "instance"
    telecom = _telecom(doc.get("phones") or (), url=doc.get("url"))
    if telecom:
        resource["telecom"] = telecom
    if address:
        resource["address"] = address
    if doc.get("location_type") == "virtual":
        resource["physicalType"] = {
            "coding": [{"system": CS_LOCATION_PHYSICAL_TYPE, "code": "vi", "display": "Virtual"}]
        }
    latitude, longitude = doc.get("latitude"), doc.get("longitude")
    if latitude is not None and longitude is not None:
        resource["position"] = {"longitude": float(longitude), "latitude": float(latitude)}
    if _text(doc.get("organization_id")):
        resource["managingOrganization"] = _reference("Organization", doc["organization_id"])
    _add_hours(resource, doc, "hoursOfOperation", ("openingTime", "closingTime"))
    return resource


def _taxonomy_coding(term: Mapping[str, Any]) -> dict[str, Any] | None:
    code = _text(term.get("code")) or _text(term.get("id"))
    if code is None:
        return None
    detail = term.get("taxonomy_detail") or {}
    system = _text(detail.get("uri")) or (
        f"urn:uuid:{term['taxonomy_id']}" if _UUID.fullmatch(str(term.get("taxonomy_id") or "")) else None
    )
    coding: dict[str, Any] = {}
    if system:
        coding["system"] = system
    if _text(detail.get("version")):
        coding["version"] = _text(detail.get("version"))
    coding["code"] = code
    if _text(term.get("name")):
        coding["display"] = _text(term.get("name"))
    return coding


def _free(doc: Mapping[str, Any]) -> bool | None:
    """True: a zero-cost option exists; False: only paid options; None: the listing does not say."""
    amounts = [o.get("amount") for o in doc.get("cost_options") or () if o.get("amount") is not None]
    if any(float(a) == 0 for a in amounts):
        return True
    if amounts:
        return False
    fees = str(doc.get("fees_description") or doc.get("fees") or "").lower()
    if re.search(r"\bfree\b|\bno (?:fee|cost|charge)", fees):
        return True
    return None


def _eligibility(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    parts = []
    low, high = doc.get("minimum_age"), doc.get("maximum_age")
    if low is not None and high is not None:
        parts.append(f"Ages {low:g} to {high:g}.")
    elif low is not None:
        parts.append(f"Ages {low:g} and over.")
    elif high is not None:
        parts.append(f"Ages up to {high:g}.")
    if _text(doc.get("eligibility_description")):
        parts.append(_text(doc.get("eligibility_description")))  # type: ignore[arg-type]
    return [{"comment": " ".join(parts)}] if parts else []


def healthcare_service(
    doc: Mapping[str, Any],
    categories_for_term: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """An HSDS ``service`` document → FHIR HealthcareService (``hsds-HealthcareService`` + SDOHCC capacity).

    :param categories_for_term: taxonomy term id → Gravity SDOH category codes (the crosswalk, narrower terms
        included), so ``service-category=food-insecurity`` finds every food service whatever term it was filed under.
    """
    hsds_id = str(doc["id"])
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": fhir_id("HealthcareService", hsds_id),
        "meta": _meta(),
    }
    capacity = CAPACITY_CODES.get(str(doc.get("referral_status") or "accepting"))
    if capacity is not None:
        resource["extension"] = [
            {
                "url": EXT_CAPACITY_STATUS,
                "valueCodeableConcept": {
                    "coding": [{"system": CS_SDOHCC, "code": capacity[0], "display": capacity[1]}]
                },
            }
        ]
    identifiers = _uuid_identifier(hsds_id)
    if identifiers:
        resource["identifier"] = identifiers
    resource["active"] = doc.get("status", "active") == "active"
    if _text(doc.get("organization_id")):
        org = doc.get("organization") or {}
        resource["providedBy"] = _reference("Organization", doc["organization_id"], org.get("name"))
    types: list[dict[str, Any]] = []
    categories: list[str] = []
    for attribute in doc.get("attributes") or ():
        term = attribute.get("taxonomy_term") or {}
        coding = _taxonomy_coding(term)
        if coding is not None and {"coding": [coding]} not in types:
            types.append({"coding": [coding]})
        for code in categories_for_term.get(str(attribute.get("taxonomy_term_id") or term.get("id") or ""), ()):
            if code not in categories:
                categories.append(code)
    if categories:
        resource["category"] = [
            {"coding": [{"system": CS_SDOHCC, "code": code, "display": SDOHCC_CATEGORIES.get(code, code)}]}
            for code in sorted(categories)
        ]
    if types:
        resource["type"] = types
    locations = []
    for sal in doc.get("service_at_locations") or ():
        location_id = sal.get("location_id") or (sal.get("location") or {}).get("id")
        if location_id and _reference("Location", location_id) not in locations:
            locations.append(_reference("Location", location_id))
    if locations:
        resource["location"] = locations
    resource["name"] = _text(doc.get("name")) or "Unnamed service"
    description = _text(doc.get("description"))
    if description:
        resource["comment"] = description.splitlines()[0][:500]
        resource["extraDetails"] = description
    telecom = _telecom(doc.get("phones") or (), doc.get("email"), doc.get("url"))
    if telecom:
        resource["telecom"] = telecom
    free = _free(doc)
    if free is not None:
        code, display = ("free", "Free") if free else ("cost", "Fees apply")
        resource["serviceProvisionCode"] = [
            {"coding": [{"system": CS_SERVICE_PROVISION, "code": code, "display": display}]}
        ]
    eligibility = _eligibility(doc)
    if eligibility:
        resource["eligibility"] = eligibility
    program = doc.get("program") or {}
    if _text(program.get("name")):
        resource["program"] = [{"text": _text(program.get("name"))}]
    languages = []
    for language in doc.get("languages") or ():
        code = _text(language.get("code"))
        if code is None:
            continue
        concept = {
            "coding": [
                {
                    "system": BCP47,
                    "code": code,
                    **({"display": language["name"]} if _text(language.get("name")) else {}),
                }
            ]
        }
        if concept not in languages:
            languages.append(concept)
    if languages:
        resource["communication"] = languages
    if _text(doc.get("application_process")):
        resource["referralMethod"] = [{"text": _text(doc.get("application_process"))}]
    _add_hours(resource, doc, "availableTime", ("availableStartTime", "availableEndTime"))
    return resource
