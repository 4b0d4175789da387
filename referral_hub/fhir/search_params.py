"""Declarative registry of the FHIR R4 search parameters the hub supports, per resource type.

Why a table: the resource store writes index rows from it (``indexer.extract_index``), the query engine parses
search URLs against it, and ``/metadata`` lists it — one source, so the CapabilityStatement can only claim what is
really indexed (issue 2 scope 4; gravity-sdoh-cc.md §6).

What is in it (gravity-sdoh-cc.md §6.2.1 / §6.2.2 server tables, §6.4, §8.2):

* every parameter the Gravity SDOHCC Coordination Platform and Referral Source *server* CapabilityStatements ask
  for, plus the everyday R4 parameters of each of the 22 supported resource types;
* the two IG SearchParameters — ``Task`` ``output`` and ``ServiceRequest`` ``supporting-info`` — under their IG
  canonicals, and our own ``pertains-to-goal`` on ServiceRequest and Procedure (the IG lists
  ``_include=ServiceRequest:pertains-to-goal`` without defining it, §6.4 / §12);
* the common ``_id``, ``_lastUpdated``, ``_profile``, ``_tag`` and ``_security``. ``_id`` and ``_lastUpdated`` are
  columns of the store, not index rows: see ``COLUMN_PARAMS``.

Conventions:

* ``expression`` is the R4 4.0.1 FHIRPath *restricted to this resource type* (R4 publishes shared parameters such
  as ``clinical-patient`` as one union over many resources; we keep the branch for this base). It is both the
  documentation and what ``fhirpath_lite`` compiles, so the two cannot drift.
* ``definition`` is ``http://hl7.org/fhir/SearchParameter/<id>`` with the R4 id (``clinical-patient``,
  ``individual-phone``, ``Task-owner``, …) or the IG / hub canonical.
* ``targets`` lists the R4 target types of a reference parameter; an empty tuple on a reference parameter means
  *any* resource type (R4 declares every type, e.g. ``Task.focus``).
* Composite parameters (not a ``ParamType``) are handled as follows: Group ``characteristic-value`` and
  Questionnaire ``context-type-value`` are indexed as tokens on the characteristic / use-context *value* (see their
  documentation); Observation ``code-value-concept`` (MAY in §6.2.2) and the other ``code-value-*`` / ``combo-*``
  composites are not offered. ``Location.near`` (special) and ``Patient.deceased`` (a boolean test, not a path) are
  not offered either; the resource directory does geographic search.
"""

# ruff: noqa: E501 (the parameter tables keep one parameter per line; see "fmt: off" below)
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

ParamType = Literal["token", "reference", "date", "string", "number", "quantity", "uri"]

R4_SEARCH_PARAMETER_BASE = "http://hl7.org/fhir/SearchParameter/"
SDOHCC_SEARCH_PARAMETER_BASE = "http://hl7.org/fhir/us/sdoh-clinicalcare/SearchParameter/"
# The hub's own canonical base for SearchParameters that neither R4 nor the IG define. Change it here only.
HUB_SEARCH_PARAMETER_BASE = "https://referral-hub.example.org/fhir/SearchParameter/"

PERTAINS_TO_GOAL_URL = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"

# Parameters answered from columns of the resource table, never from index rows.
COLUMN_PARAMS: frozenset[str] = frozenset({"_id", "_lastUpdated"})


@dataclass(frozen=True)
class SearchParam:
    """One search parameter of one resource type."""

    resource_type: str
    code: str  # name used in the URL, e.g. "patient", "_profile", "supporting-info"
    type: ParamType
    expression: str  # FHIRPath as published in R4 (or the IG), for this base resource type
    definition: str  # canonical URL of the SearchParameter
    documentation: str
    targets: tuple[str, ...] = ()  # reference target types; () on a reference parameter = any type


# Row: (code, type, expression, definition id or absolute canonical, documentation, targets)
_Row = tuple[str, ParamType, str, str, str, tuple[str, ...]]

_ANY: tuple[str, ...] = ()
_PATIENT_OR_GROUP = ("Patient", "Group")  # R4 target list of the shared clinical-patient parameter
_ENCOUNTER = ("Encounter", "EpisodeOfCare")  # R4 target list of the shared clinical-encounter parameter
_REQUESTERS = ("Practitioner", "Organization", "Device", "Patient", "PractitionerRole", "RelatedPerson")


# The tables below keep one parameter per line, like the R4 search tables they transcribe.
# fmt: off
_COMMON: list[_Row] = [
    # Parameters of every resource (R4 Resource-*).
    ("_id", "token", "Resource.id", "Resource-id", "Logical id of this artifact", ()),
    ("_lastUpdated", "date", "Resource.meta.lastUpdated", "Resource-lastUpdated", "When the resource version last changed", ()),
    ("_profile", "uri", "Resource.meta.profile", "Resource-profile", "Profiles this resource claims to conform to", ()),
    ("_tag", "token", "Resource.meta.tag", "Resource-tag", "Tags applied to this resource", ()),
    ("_security", "token", "Resource.meta.security", "Resource-security", "Security Labels applied to this resource", ()),
]


def _address(rt: str, prefix: str) -> list[_Row]:
    """The R4 address family; ``prefix`` is ``individual`` for Patient/Practitioner/RelatedPerson, else ``rt``."""
    what = f"{rt}.address"
    return [
        ("address", "string", what, f"{prefix}-address", "A server defined search that may match any of the string fields in the Address, including line, city, district, state, country, postalCode, and/or text", ()),
        ("address-city", "string", f"{what}.city", f"{prefix}-address-city", "A city specified in an address", ()),
        ("address-country", "string", f"{what}.country", f"{prefix}-address-country", "A country specified in an address", ()),
        ("address-postalcode", "string", f"{what}.postalCode", f"{prefix}-address-postalcode", "A postalCode specified in an address", ()),
        ("address-state", "string", f"{what}.state", f"{prefix}-address-state", "A state specified in an address", ()),
        ("address-use", "token", f"{what}.use", f"{prefix}-address-use", "A use code specified in an address", ()),
    ]


def _telecom(rt: str) -> list[_Row]:
    """R4 individual-telecom / -phone / -email (shared by Patient, Practitioner, PractitionerRole, RelatedPerson)."""
    return [
        ("email", "token", f"{rt}.telecom.where(system='email')", "individual-email", "A value in an email contact", ()),
        ("phone", "token", f"{rt}.telecom.where(system='phone')", "individual-phone", "A value in a phone contact", ()),
        ("telecom", "token", f"{rt}.telecom", "individual-telecom", "The value in any kind of telecom details", ()),
    ]


def _person_names(rt: str) -> list[_Row]:
    return [
        ("family", "string", f"{rt}.name.family", "individual-family", "A portion of the family name", ()),
        ("given", "string", f"{rt}.name.given", "individual-given", "A portion of the given name", ()),
        ("phonetic", "string", f"{rt}.name", "individual-phonetic", "A portion of a name using some kind of phonetic matching algorithm", ()),
    ]


_PATIENT: list[_Row] = [
    ("active", "token", "Patient.active", "Patient-active", "Whether the patient record is active", ()),
    *_address("Patient", "individual"),
    ("birthdate", "date", "Patient.birthDate", "individual-birthdate", "The patient's date of birth", ()),
    ("death-date", "date", "(Patient.deceased as dateTime)", "Patient-death-date", "The date of death has been provided and satisfies this search value", ()),
    *_telecom("Patient"),
    *_person_names("Patient"),
    ("gender", "token", "Patient.gender", "individual-gender", "Gender of the patient", ()),
    ("general-practitioner", "reference", "Patient.generalPractitioner", "Patient-general-practitioner", "Patient's nominated general practitioner, not the organization that manages the record", ("Practitioner", "Organization", "PractitionerRole")),
    ("identifier", "token", "Patient.identifier", "Patient-identifier", "A patient identifier", ()),
    ("language", "token", "Patient.communication.language", "Patient-language", "Language code (irrespective of use value)", ()),
    ("link", "reference", "Patient.link.other", "Patient-link", "All patients linked to the given patient", ("Patient", "RelatedPerson")),
    ("name", "string", "Patient.name", "Patient-name", "A server defined search that may match any of the string fields in the HumanName, including family, give, prefix, suffix, suffix, and/or text", ()),
    ("organization", "reference", "Patient.managingOrganization", "Patient-organization", "The organization that is the custodian of the patient record", ("Organization",)),
]

_PRACTITIONER: list[_Row] = [
    ("active", "token", "Practitioner.active", "Practitioner-active", "Whether the practitioner record is active", ()),
    *_address("Practitioner", "individual"),
    ("communication", "token", "Practitioner.communication", "Practitioner-communication", "One of the languages that the practitioner can communicate with", ()),
    *_telecom("Practitioner"),
    *_person_names("Practitioner"),
    ("gender", "token", "Practitioner.gender", "individual-gender", "Gender of the practitioner", ()),
    ("identifier", "token", "Practitioner.identifier", "Practitioner-identifier", "A practitioner's Identifier", ()),
    ("name", "string", "Practitioner.name", "Practitioner-name", "A server defined search that may match any of the string fields in the HumanName, including family, give, prefix, suffix, suffix, and/or text", ()),
]

_PRACTITIONER_ROLE: list[_Row] = [
    ("active", "token", "PractitionerRole.active", "PractitionerRole-active", "Whether this practitioner role record is in active use", ()),
    ("date", "date", "PractitionerRole.period", "PractitionerRole-date", "The period during which the practitioner is authorized to perform in these role(s)", ()),
    *_telecom("PractitionerRole"),
    ("endpoint", "reference", "PractitionerRole.endpoint", "PractitionerRole-endpoint", "Technical endpoints providing access to services operated for the practitioner with this role", ("Endpoint",)),
    ("identifier", "token", "PractitionerRole.identifier", "PractitionerRole-identifier", "A practitioner's Identifier", ()),
    ("location", "reference", "PractitionerRole.location", "PractitionerRole-location", "One of the locations at which this practitioner provides care", ("Location",)),
    ("organization", "reference", "PractitionerRole.organization", "PractitionerRole-organization", "The identity of the organization the practitioner represents / acts on behalf of", ("Organization",)),
    ("practitioner", "reference", "PractitionerRole.practitioner", "PractitionerRole-practitioner", "Practitioner that is able to provide the defined services for the organization", ("Practitioner",)),
    ("role", "token", "PractitionerRole.code", "PractitionerRole-role", "The practitioner can perform this role at for the organization", ()),
    ("service", "reference", "PractitionerRole.healthcareService", "PractitionerRole-service", "The list of healthcare services that this worker provides for this role's Organization/Location(s)", ("HealthcareService",)),
    ("specialty", "token", "PractitionerRole.specialty", "PractitionerRole-specialty", "The practitioner has this specialty at an organization", ()),
]

_ORGANIZATION: list[_Row] = [
    ("active", "token", "Organization.active", "Organization-active", "Is the Organization record active", ()),
    *_address("Organization", "Organization"),
    ("endpoint", "reference", "Organization.endpoint", "Organization-endpoint", "Technical endpoints providing access to services operated for the organization", ("Endpoint",)),
    ("identifier", "token", "Organization.identifier", "Organization-identifier", "Any identifier for the organization (not the accreditation issuer's identifier)", ()),
    ("name", "string", "Organization.name | Organization.alias", "Organization-name", "A portion of the organization's name or alias", ()),
    ("partof", "reference", "Organization.partOf", "Organization-partof", "An organization of which this organization forms a part", ("Organization",)),
    ("phonetic", "string", "Organization.name", "Organization-phonetic", "A portion of the organization's name using some kind of phonetic matching algorithm", ()),
    ("type", "token", "Organization.type", "Organization-type", "A code for the type of organization", ()),
]

_LOCATION: list[_Row] = [
    *_address("Location", "Location"),
    ("endpoint", "reference", "Location.endpoint", "Location-endpoint", "Technical endpoints providing access to services operated for the location", ("Endpoint",)),
    ("identifier", "token", "Location.identifier", "Location-identifier", "An identifier for the location", ()),
    ("name", "string", "Location.name | Location.alias", "Location-name", "A portion of the location's name or alias", ()),
    ("operational-status", "token", "Location.operationalStatus", "Location-operational-status", "Searches for locations (typically bed/room) that have an operational status (e.g. contaminated, housekeeping)", ()),
    ("organization", "reference", "Location.managingOrganization", "Location-organization", "Searches for locations that are managed by the provided organization", ("Organization",)),
    ("partof", "reference", "Location.partOf", "Location-partof", "A location of which this location is a part", ("Location",)),
    ("status", "token", "Location.status", "Location-status", "Searches for locations with a specific kind of status", ()),
    ("type", "token", "Location.type", "Location-type", "A code for the type of location", ()),
]

_HEALTHCARE_SERVICE: list[_Row] = [
    ("active", "token", "HealthcareService.active", "HealthcareService-active", "The Healthcare Service is currently marked as active", ()),
    ("characteristic", "token", "HealthcareService.characteristic", "HealthcareService-characteristic", "One of the HealthcareService's characteristics", ()),
    ("communication", "token", "HealthcareService.communication", "http://hl7.org/fhir/us/hsds/SearchParameter/healthcareservice-communication", "Languages used at this service (HL7 Human Services Directory IG)", ()),
    ("coverage-area", "reference", "HealthcareService.coverageArea", "HealthcareService-coverage-area", "Location(s) service is intended for/available to", ("Location",)),
    ("endpoint", "reference", "HealthcareService.endpoint", "HealthcareService-endpoint", "Technical endpoints providing access to electronic services operated for the healthcare service", ("Endpoint",)),
    ("identifier", "token", "HealthcareService.identifier", "HealthcareService-identifier", "External identifiers for this item", ()),
    ("location", "reference", "HealthcareService.location", "HealthcareService-location", "The location of the Healthcare Service", ("Location",)),
    ("name", "string", "HealthcareService.name", "HealthcareService-name", "A portion of the Healthcare service name", ()),
    ("organization", "reference", "HealthcareService.providedBy", "HealthcareService-organization", "The organization that provides this Healthcare Service", ("Organization",)),
    ("program", "token", "HealthcareService.program", "HealthcareService-program", "One of the Programs supported by this HealthcareService", ()),
    ("service-category", "token", "HealthcareService.category", "HealthcareService-service-category", "Service Category of the Healthcare Service", ()),
    ("service-type", "token", "HealthcareService.type", "HealthcareService-service-type", "The type of service provided by this healthcare service", ()),
    ("specialty", "token", "HealthcareService.specialty", "HealthcareService-specialty", "The specialty of the service provided by this healthcare service", ()),
]

_CARE_TEAM: list[_Row] = [
    ("category", "token", "CareTeam.category", "CareTeam-category", "Type of team", ()),
    ("date", "date", "CareTeam.period", "clinical-date", "Time period team covers", ()),
    ("encounter", "reference", "CareTeam.encounter", "clinical-encounter", "Encounter created as part of", _ENCOUNTER),
    ("identifier", "token", "CareTeam.identifier", "clinical-identifier", "External Ids for this team", ()),
    ("participant", "reference", "CareTeam.participant.member", "CareTeam-participant", "Who is involved", ("Practitioner", "Organization", "CareTeam", "Patient", "PractitionerRole", "RelatedPerson")),
    ("patient", "reference", "CareTeam.subject.where(resolve() is Patient)", "clinical-patient", "Who care team is for", _PATIENT_OR_GROUP),
    ("status", "token", "CareTeam.status", "CareTeam-status", "proposed | active | suspended | inactive | entered-in-error", ()),
    ("subject", "reference", "CareTeam.subject", "CareTeam-subject", "Who care team is for", ("Group", "Patient")),
]

_RELATED_PERSON: list[_Row] = [
    ("active", "token", "RelatedPerson.active", "RelatedPerson-active", "Indicates if the related person record is active", ()),
    *_address("RelatedPerson", "individual"),
    ("birthdate", "date", "RelatedPerson.birthDate", "individual-birthdate", "The Related Person's date of birth", ()),
    *_telecom("RelatedPerson"),
    ("gender", "token", "RelatedPerson.gender", "individual-gender", "Gender of the related person", ()),
    ("identifier", "token", "RelatedPerson.identifier", "RelatedPerson-identifier", "An Identifier of the RelatedPerson", ()),
    ("name", "string", "RelatedPerson.name", "RelatedPerson-name", "A server defined search that may match any of the string fields in the HumanName, including family, give, prefix, suffix, suffix, and/or text", ()),
    ("patient", "reference", "RelatedPerson.patient", "RelatedPerson-patient", "The patient this related person is related to", ("Patient",)),
    ("phonetic", "string", "RelatedPerson.name", "individual-phonetic", "A portion of name using some kind of phonetic matching algorithm", ()),
    ("relationship", "token", "RelatedPerson.relationship", "RelatedPerson-relationship", "The relationship between the patient and the relatedperson", ()),
]

_DEVICE: list[_Row] = [
    ("device-name", "string", "Device.deviceName.name | Device.type.coding.display | Device.type.text", "Device-device-name", "A server defined search that may match any of the string fields in Device.deviceName or Device.type.", ()),
    ("identifier", "token", "Device.identifier", "Device-identifier", "Instance id from manufacturer, owner, and others", ()),
    ("location", "reference", "Device.location", "Device-location", "A location, where the resource is found", ("Location",)),
    ("manufacturer", "string", "Device.manufacturer", "Device-manufacturer", "The manufacturer of the device", ()),
    ("model", "string", "Device.modelNumber", "Device-model", "The model of the device", ()),
    ("organization", "reference", "Device.owner", "Device-organization", "The organization responsible for the device", ("Organization",)),
    ("patient", "reference", "Device.patient", "Device-patient", "Patient information, if the resource is affixed to a person", ("Patient",)),
    ("status", "token", "Device.status", "Device-status", "active | inactive | entered-in-error | unknown", ()),
    ("type", "token", "Device.type", "Device-type", "The type of the device", ()),
    ("udi-carrier", "string", "Device.udiCarrier.carrierHRF", "Device-udi-carrier", "UDI Barcode (RFID or other technology) string in *HRF* format.", ()),
    ("udi-di", "string", "Device.udiCarrier.deviceIdentifier", "Device-udi-di", "The udi Device Identifier (DI)", ()),
    ("url", "uri", "Device.url", "Device-url", "Network address to contact device", ()),
]

_GROUP: list[_Row] = [
    ("actual", "token", "Group.actual", "Group-actual", "Descriptive or actual", ()),
    ("characteristic", "token", "Group.characteristic.code", "Group-characteristic", "Kind of characteristic", ()),
    ("characteristic-value", "token", "Group.characteristic", "Group-characteristic-value",
     "A composite of both characteristic and value (R4 composite). The hub indexes it as a token on "
     "Group.characteristic.value (codes of a CodeableConcept, true/false, or the literal reference of a "
     "valueReference); the query engine pairs it with the characteristic code.", ()),
    ("code", "token", "Group.code", "Group-code", "The kind of resources contained", ()),
    ("exclude", "token", "Group.characteristic.exclude", "Group-exclude", "Group includes or excludes", ()),
    ("identifier", "token", "Group.identifier", "Group-identifier", "Unique id", ()),
    ("managing-entity", "reference", "Group.managingEntity", "Group-managing-entity", "Entity that is the custodian of the Group's definition", ("Practitioner", "PractitionerRole", "Organization", "RelatedPerson")),
    ("member", "reference", "Group.member.entity", "Group-member", "Reference to the group member", ("Practitioner", "Group", "Device", "Medication", "Patient", "Substance", "PractitionerRole")),
    ("type", "token", "Group.type", "Group-type", "The type of resources the group contains", ()),
    ("value", "token", "Group.characteristic.value", "Group-value",
     "Value held by characteristic (codes of a CodeableConcept, true/false; the hub also indexes the literal "
     "reference of a valueReference as a code, as SDOHCC Group characteristics are references)", ()),
]

_CONSENT: list[_Row] = [
    ("action", "token", "Consent.provision.action", "Consent-action", "Actions controlled by this rule", ()),
    ("actor", "reference", "Consent.provision.actor.reference", "Consent-actor", "Resource for the actor (or group, by role)", ("Practitioner", "Group", "Organization", "CareTeam", "Patient", "Device", "PractitionerRole", "RelatedPerson")),
    ("category", "token", "Consent.category", "Consent-category", "Classification of the consent statement - for indexing/retrieval", ()),
    ("consentor", "reference", "Consent.performer", "Consent-consentor", "Who is agreeing to the policy and rules", ("Practitioner", "Organization", "Patient", "PractitionerRole", "RelatedPerson")),
    ("data", "reference", "Consent.provision.data.reference", "Consent-data", "The actual data reference", _ANY),
    ("date", "date", "Consent.dateTime", "clinical-date", "When this Consent was created or indexed", ()),
    ("identifier", "token", "Consent.identifier", "clinical-identifier", "Identifier for this record (external references)", ()),
    ("organization", "reference", "Consent.organization", "Consent-organization", "Custodian of the consent", ("Organization",)),
    ("patient", "reference", "Consent.patient", "clinical-patient", "Who the consent applies to", _PATIENT_OR_GROUP),
    ("period", "date", "Consent.provision.period", "Consent-period", "Timeframe for this rule", ()),
    ("purpose", "token", "Consent.provision.purpose", "Consent-purpose", "Context of activities covered by this rule", ()),
    ("scope", "token", "Consent.scope", "Consent-scope", "Which of the four areas this resource covers (extensible)", ()),
    ("security-label", "token", "Consent.provision.securityLabel", "Consent-security-label", "Security Labels that define affected resources", ()),
    ("source-reference", "reference", "Consent.source", "Consent-source-reference", "Search by reference to a Consent, DocumentReference, Contract or QuestionnaireResponse", ("Consent", "Contract", "QuestionnaireResponse", "DocumentReference")),
    ("status", "token", "Consent.status", "Consent-status", "draft | proposed | active | rejected | inactive | entered-in-error", ()),
]

_CONDITION: list[_Row] = [
    ("abatement-age", "quantity", "Condition.abatement.as(Age) | Condition.abatement.as(Range)", "Condition-abatement-age", "Abatement as age or age range (the hub indexes Age values; a Range is not indexed)", ()),
    ("abatement-date", "date", "Condition.abatement.as(dateTime) | Condition.abatement.as(Period)", "Condition-abatement-date", "Date-related abatements (dateTime and period)", ()),
    ("abatement-string", "string", "Condition.abatement.as(string)", "Condition-abatement-string", "Abatement as a string", ()),
    ("asserter", "reference", "Condition.asserter", "Condition-asserter", "Person who asserts this condition", ("Practitioner", "Patient", "PractitionerRole", "RelatedPerson")),
    ("body-site", "token", "Condition.bodySite", "Condition-body-site", "Anatomical location, if relevant", ()),
    ("category", "token", "Condition.category", "Condition-category", "The category of the condition", ()),
    ("clinical-status", "token", "Condition.clinicalStatus", "Condition-clinical-status", "The clinical status of the condition", ()),
    ("code", "token", "Condition.code", "clinical-code", "Code for the condition", ()),
    ("encounter", "reference", "Condition.encounter", "clinical-encounter", "Encounter created as part of", _ENCOUNTER),
    ("evidence", "token", "Condition.evidence.code", "Condition-evidence", "Manifestation/symptom", ()),
    ("evidence-detail", "reference", "Condition.evidence.detail", "Condition-evidence-detail", "Supporting information found elsewhere", _ANY),
    ("identifier", "token", "Condition.identifier", "clinical-identifier", "A unique identifier of the condition record", ()),
    ("onset-age", "quantity", "Condition.onset.as(Age) | Condition.onset.as(Range)", "Condition-onset-age", "Onsets as age or age range (the hub indexes Age values; a Range is not indexed)", ()),
    ("onset-date", "date", "Condition.onset.as(dateTime) | Condition.onset.as(Period)", "Condition-onset-date", "Date related onsets (dateTime and Period)", ()),
    ("onset-info", "string", "Condition.onset.as(string)", "Condition-onset-info", "Onsets as a string", ()),
    ("patient", "reference", "Condition.subject.where(resolve() is Patient)", "clinical-patient", "Who has the condition?", _PATIENT_OR_GROUP),
    ("recorded-date", "date", "Condition.recordedDate", "Condition-recorded-date", "Date record was first recorded", ()),
    ("severity", "token", "Condition.severity", "Condition-severity", "The severity of the condition", ()),
    ("stage", "token", "Condition.stage.summary", "Condition-stage", "Simple summary (disease specific)", ()),
    ("subject", "reference", "Condition.subject", "Condition-subject", "Who has the condition?", ("Group", "Patient")),
    ("verification-status", "token", "Condition.verificationStatus", "Condition-verification-status", "unconfirmed | provisional | differential | confirmed | refuted | entered-in-error", ()),
]

_GOAL: list[_Row] = [
    ("achievement-status", "token", "Goal.achievementStatus", "Goal-achievement-status", "in-progress | improving | worsening | no-change | achieved | sustaining | not-achieved | no-progress | not-attainable", ()),
    ("category", "token", "Goal.category", "Goal-category", "E.g. Treatment, dietary, behavioral, etc.", ()),
    ("identifier", "token", "Goal.identifier", "clinical-identifier", "External Ids for this goal", ()),
    ("lifecycle-status", "token", "Goal.lifecycleStatus", "Goal-lifecycle-status", "proposed | planned | accepted | active | on-hold | completed | cancelled | entered-in-error | rejected", ()),
    ("patient", "reference", "Goal.subject.where(resolve() is Patient)", "clinical-patient", "Who this goal is intended for", _PATIENT_OR_GROUP),
    ("start-date", "date", "(Goal.start as date)", "Goal-start-date", "When goal pursuit begins", ()),
    ("subject", "reference", "Goal.subject", "Goal-subject", "Who this goal is intended for", ("Group", "Organization", "Patient")),
    ("target-date", "date", "(Goal.target.due as date)", "Goal-target-date", "Reach goal on or before", ()),
]

_OBSERVATION: list[_Row] = [
    ("based-on", "reference", "Observation.basedOn", "Observation-based-on", "Reference to the service request.", ("CarePlan", "MedicationRequest", "NutritionOrder", "DeviceRequest", "ServiceRequest", "ImmunizationRecommendation")),
    ("category", "token", "Observation.category", "Observation-category", "The classification of the type of observation", ()),
    ("code", "token", "Observation.code", "clinical-code", "The code of the observation type", ()),
    ("component-code", "token", "Observation.component.code", "Observation-component-code", "The component code of the observation type", ()),
    ("component-value-concept", "token", "(Observation.component.value as CodeableConcept)", "Observation-component-value-concept", "The value of the component observation, if the value is a CodeableConcept", ()),
    ("component-value-quantity", "quantity", "(Observation.component.value as Quantity)", "Observation-component-value-quantity", "The value of the component observation, if the value is a Quantity, or a SampledData (just search on the bounds of the values in sampled data)", ()),
    ("data-absent-reason", "token", "Observation.dataAbsentReason", "Observation-data-absent-reason", "The reason why the expected value in the element Observation.value[x] is missing.", ()),
    ("date", "date", "Observation.effective", "clinical-date", "Obtained date/time. If the obtained element is a period, a date that falls in the period", ()),
    ("derived-from", "reference", "Observation.derivedFrom", "Observation-derived-from", "Related measurements the observation is made from", ("Media", "Observation", "ImagingStudy", "MolecularSequence", "QuestionnaireResponse", "DocumentReference")),
    ("device", "reference", "Observation.device", "Observation-device", "The Device that generated the observation data.", ("Device", "DeviceMetric")),
    ("encounter", "reference", "Observation.encounter", "clinical-encounter", "Encounter related to the observation", _ENCOUNTER),
    ("focus", "reference", "Observation.focus", "Observation-focus", "The focus of an observation when the focus is not the patient of record.", _ANY),
    ("has-member", "reference", "Observation.hasMember", "Observation-has-member", "Related resource that belongs to the Observation group", ("Observation", "MolecularSequence", "QuestionnaireResponse")),
    ("identifier", "token", "Observation.identifier", "clinical-identifier", "The unique id for a particular observation", ()),
    ("method", "token", "Observation.method", "Observation-method", "The method used for the observation", ()),
    ("part-of", "reference", "Observation.partOf", "Observation-part-of", "Part of referenced event", ("Immunization", "MedicationDispense", "MedicationAdministration", "Procedure", "ImagingStudy", "MedicationStatement")),
    ("patient", "reference", "Observation.subject.where(resolve() is Patient)", "clinical-patient", "The subject that the observation is about (if patient)", _PATIENT_OR_GROUP),
    ("performer", "reference", "Observation.performer", "Observation-performer", "Who performed the observation", ("Practitioner", "Organization", "CareTeam", "Patient", "PractitionerRole", "RelatedPerson")),
    ("specimen", "reference", "Observation.specimen", "Observation-specimen", "Specimen used for this observation", ("Specimen",)),
    ("status", "token", "Observation.status", "Observation-status", "The status of the observation", ()),
    ("subject", "reference", "Observation.subject", "Observation-subject", "The subject that the observation is about", ("Group", "Device", "Patient", "Location")),
    ("value-concept", "token", "(Observation.value as CodeableConcept)", "Observation-value-concept", "The value of the observation, if the value is a CodeableConcept", ()),
    ("value-date", "date", "(Observation.value as dateTime) | (Observation.value as Period)", "Observation-value-date", "The value of the observation, if the value is a date or period of time", ()),
    ("value-quantity", "quantity", "(Observation.value as Quantity) | (Observation.value as SampledData)", "Observation-value-quantity", "The value of the observation, if the value is a Quantity, or a SampledData (the hub indexes Quantity values)", ()),
    ("value-string", "string", "(Observation.value as string)", "Observation-value-string", "The value of the observation, if the value is a string, and also searches in CodeableConcept.text", ()),
]

_QUESTIONNAIRE: list[_Row] = [
    ("code", "token", "Questionnaire.item.code", "Questionnaire-code", "A code that corresponds to one of its items in the questionnaire", ()),
    ("context", "token", "(Questionnaire.useContext.value as CodeableConcept)", "Questionnaire-context", "A use context assigned to the questionnaire", ()),
    ("context-type", "token", "Questionnaire.useContext.code", "Questionnaire-context-type", "A type of use context assigned to the questionnaire", ()),
    ("context-type-value", "token", "Questionnaire.useContext", "Questionnaire-context-type-value",
     "A use context type and value assigned to the questionnaire (R4 composite). The hub indexes it as a token "
     "on the CodeableConcept value of each useContext; the query engine pairs it with context-type.", ()),
    ("date", "date", "Questionnaire.date", "Questionnaire-date", "The questionnaire publication date", ()),
    ("definition", "uri", "Questionnaire.item.definition", "Questionnaire-definition", "ElementDefinition - details for the item", ()),
    ("description", "string", "Questionnaire.description", "Questionnaire-description", "The description of the questionnaire", ()),
    ("effective", "date", "Questionnaire.effectivePeriod", "Questionnaire-effective", "The time during which the questionnaire is intended to be in use", ()),
    ("identifier", "token", "Questionnaire.identifier", "Questionnaire-identifier", "External identifier for the questionnaire", ()),
    ("jurisdiction", "token", "Questionnaire.jurisdiction", "Questionnaire-jurisdiction", "Intended jurisdiction for the questionnaire", ()),
    ("name", "string", "Questionnaire.name", "Questionnaire-name", "Computationally friendly name of the questionnaire", ()),
    ("publisher", "string", "Questionnaire.publisher", "Questionnaire-publisher", "Name of the publisher of the questionnaire", ()),
    ("status", "token", "Questionnaire.status", "Questionnaire-status", "The current status of the questionnaire", ()),
    ("subject-type", "token", "Questionnaire.subjectType", "Questionnaire-subject-type", "Resource that can be subject of QuestionnaireResponse", ()),
    ("title", "string", "Questionnaire.title", "Questionnaire-title", "The human-friendly name of the questionnaire", ()),
    ("url", "uri", "Questionnaire.url", "Questionnaire-url", "The uri that identifies the questionnaire", ()),
    ("version", "token", "Questionnaire.version", "Questionnaire-version", "The business version of the questionnaire", ()),
]

_QUESTIONNAIRE_RESPONSE: list[_Row] = [
    ("author", "reference", "QuestionnaireResponse.author", "QuestionnaireResponse-author", "The author of the questionnaire response", _REQUESTERS),
    ("authored", "date", "QuestionnaireResponse.authored", "QuestionnaireResponse-authored", "When the questionnaire response was last changed", ()),
    ("based-on", "reference", "QuestionnaireResponse.basedOn", "QuestionnaireResponse-based-on", "Plan/proposal/order fulfilled by this questionnaire response", ("CarePlan", "ServiceRequest")),
    ("encounter", "reference", "QuestionnaireResponse.encounter", "QuestionnaireResponse-encounter", "Encounter associated with the questionnaire response", ("Encounter",)),
    ("identifier", "token", "QuestionnaireResponse.identifier", "QuestionnaireResponse-identifier", "The unique identifier for the questionnaire response", ()),
    ("part-of", "reference", "QuestionnaireResponse.partOf", "QuestionnaireResponse-part-of", "Procedure or observation this questionnaire response was performed as a part of", ("Observation", "Procedure")),
    ("patient", "reference", "QuestionnaireResponse.subject.where(resolve() is Patient)", "QuestionnaireResponse-patient", "The patient that is the subject of the questionnaire response", ("Patient",)),
    ("questionnaire", "reference", "QuestionnaireResponse.questionnaire", "QuestionnaireResponse-questionnaire", "The questionnaire the answers are provided for (a canonical URL, optionally |version)", ("Questionnaire",)),
    ("source", "reference", "QuestionnaireResponse.source", "QuestionnaireResponse-source", "The individual providing the information reflected in the questionnaire respose", ("Practitioner", "Patient", "PractitionerRole", "RelatedPerson")),
    ("status", "token", "QuestionnaireResponse.status", "QuestionnaireResponse-status", "The status of the questionnaire response", ()),
    ("subject", "reference", "QuestionnaireResponse.subject", "QuestionnaireResponse-subject", "The subject of the questionnaire response", _ANY),
]

_PERTAINS_TO_GOAL_DOC = (
    "Goals this request or procedure pertains to (extension resource-pertainsToGoal); hub-defined because the "
    "SDOHCC CapabilityStatements use _include=ServiceRequest:pertains-to-goal without defining it"
)

_SERVICE_REQUEST: list[_Row] = [
    ("authored", "date", "ServiceRequest.authoredOn", "ServiceRequest-authored", "Date request signed", ()),
    ("based-on", "reference", "ServiceRequest.basedOn", "ServiceRequest-based-on", "What request fulfills", ("CarePlan", "MedicationRequest", "ServiceRequest")),
    ("body-site", "token", "ServiceRequest.bodySite", "ServiceRequest-body-site", "Where procedure is going to be done", ()),
    ("category", "token", "ServiceRequest.category", "ServiceRequest-category", "Classification of service", ()),
    ("code", "token", "ServiceRequest.code", "clinical-code", "What is being requested/ordered", ()),
    ("encounter", "reference", "ServiceRequest.encounter", "clinical-encounter", "An encounter in which this request is made", _ENCOUNTER),
    ("identifier", "token", "ServiceRequest.identifier", "clinical-identifier", "Identifiers assigned to this order", ()),
    ("instantiates-canonical", "reference", "ServiceRequest.instantiatesCanonical", "ServiceRequest-instantiates-canonical", "Instantiates FHIR protocol or definition", ("PlanDefinition", "ActivityDefinition")),
    ("instantiates-uri", "uri", "ServiceRequest.instantiatesUri", "ServiceRequest-instantiates-uri", "Instantiates external protocol or definition", ()),
    ("intent", "token", "ServiceRequest.intent", "ServiceRequest-intent", "proposal | plan | directive | order | original-order | reflex-order | filler-order | instance-order | option", ()),
    ("occurrence", "date", "ServiceRequest.occurrence", "ServiceRequest-occurrence", "When service should occur", ()),
    ("patient", "reference", "ServiceRequest.subject.where(resolve() is Patient)", "clinical-patient", "Search by subject - a patient", _PATIENT_OR_GROUP),
    ("performer", "reference", "ServiceRequest.performer", "ServiceRequest-performer", "Requested performer", ("Practitioner", "Organization", "CareTeam", "Device", "Patient", "HealthcareService", "PractitionerRole", "RelatedPerson")),
    ("performer-type", "token", "ServiceRequest.performerType", "ServiceRequest-performer-type", "Performer role", ()),
    ("pertains-to-goal", "reference", f"ServiceRequest.extension('{PERTAINS_TO_GOAL_URL}').value", HUB_SEARCH_PARAMETER_BASE + "pertains-to-goal", _PERTAINS_TO_GOAL_DOC, ("Goal",)),
    ("priority", "token", "ServiceRequest.priority", "ServiceRequest-priority", "routine | urgent | asap | stat", ()),
    ("replaces", "reference", "ServiceRequest.replaces", "ServiceRequest-replaces", "What request replaces", ("ServiceRequest",)),
    ("requester", "reference", "ServiceRequest.requester", "ServiceRequest-requester", "Who/what is requesting service", _REQUESTERS),
    ("requisition", "token", "ServiceRequest.requisition", "ServiceRequest-requisition", "Composite Request ID", ()),
    ("specimen", "reference", "ServiceRequest.specimen", "ServiceRequest-specimen", "Specimen to be tested", ("Specimen",)),
    ("status", "token", "ServiceRequest.status", "ServiceRequest-status", "draft | active | on-hold | revoked | completed | entered-in-error | unknown", ()),
    ("subject", "reference", "ServiceRequest.subject", "ServiceRequest-subject", "Search by subject", ("Group", "Device", "Patient", "Location")),
    ("supporting-info", "reference", "ServiceRequest.supportingInfo", SDOHCC_SEARCH_PARAMETER_BASE + "ServiceRequest-supporting-info", "Additional information (e.g. the SDOHCC Consent) supporting the service request (SDOHCC IG SearchParameter)", _ANY),
]

_TASK: list[_Row] = [
    ("authored-on", "date", "Task.authoredOn", "Task-authored-on", "Search by creation date", ()),
    ("based-on", "reference", "Task.basedOn", "Task-based-on", "Search by requests this task is based on", _ANY),
    ("business-status", "token", "Task.businessStatus", "Task-business-status", "Search by business status", ()),
    ("code", "token", "Task.code", "Task-code", "Search by task code", ()),
    ("encounter", "reference", "Task.encounter", "Task-encounter", "Search by encounter", ("Encounter",)),
    ("focus", "reference", "Task.focus", "Task-focus", "Search by task focus", _ANY),
    ("group-identifier", "token", "Task.groupIdentifier", "Task-group-identifier", "Search by group identifier", ()),
    ("identifier", "token", "Task.identifier", "Task-identifier", "Search for a task instance by its business identifier", ()),
    ("intent", "token", "Task.intent", "Task-intent", "Search by task intent", ()),
    ("modified", "date", "Task.lastModified", "Task-modified", "Search by last modification date", ()),
    ("output", "reference", "Task.output.value.ofType(Reference)", SDOHCC_SEARCH_PARAMETER_BASE + "Task-output-reference", "Search by the references in Task.output (SDOHCC IG SearchParameter; enables _include=Task:output)", _ANY),
    ("owner", "reference", "Task.owner", "Task-owner", "Search by task owner", ("Practitioner", "Organization", "CareTeam", "Device", "Patient", "HealthcareService", "PractitionerRole", "RelatedPerson")),
    ("part-of", "reference", "Task.partOf", "Task-part-of", "Search by task this task is part of", ("Task",)),
    ("patient", "reference", "Task.for.where(resolve() is Patient)", "Task-patient", "Search by patient", ("Patient",)),
    ("performer", "token", "Task.performerType", "Task-performer", "Search by recommended type of performer (e.g., Requester, Performer, Scheduler).", ()),
    ("period", "date", "Task.executionPeriod", "Task-period", "Search by period Task is/was underway", ()),
    ("priority", "token", "Task.priority", "Task-priority", "Search by task priority", ()),
    ("requester", "reference", "Task.requester", "Task-requester", "Search by task requester", _REQUESTERS),
    ("status", "token", "Task.status", "Task-status", "Search by task status", ()),
    ("subject", "reference", "Task.for", "Task-subject", "Search by subject", _ANY),
]

_PROCEDURE: list[_Row] = [
    ("based-on", "reference", "Procedure.basedOn", "Procedure-based-on", "A request for this procedure", ("CarePlan", "ServiceRequest")),
    ("category", "token", "Procedure.category", "Procedure-category", "Classification of the procedure", ()),
    ("code", "token", "Procedure.code", "clinical-code", "A code to identify a  procedure", ()),
    ("date", "date", "Procedure.performed", "clinical-date", "When the procedure was performed", ()),
    ("encounter", "reference", "Procedure.encounter", "clinical-encounter", "Encounter created as part of", _ENCOUNTER),
    ("identifier", "token", "Procedure.identifier", "clinical-identifier", "A unique identifier for a procedure", ()),
    ("instantiates-canonical", "reference", "Procedure.instantiatesCanonical", "Procedure-instantiates-canonical", "Instantiates FHIR protocol or definition", ("PlanDefinition", "Questionnaire", "Measure", "ActivityDefinition", "OperationDefinition")),
    ("instantiates-uri", "uri", "Procedure.instantiatesUri", "Procedure-instantiates-uri", "Instantiates external protocol or definition", ()),
    ("location", "reference", "Procedure.location", "Procedure-location", "Where the procedure happened", ("Location",)),
    ("part-of", "reference", "Procedure.partOf", "Procedure-part-of", "Part of referenced event", ("Observation", "Procedure", "MedicationAdministration")),
    ("patient", "reference", "Procedure.subject.where(resolve() is Patient)", "clinical-patient", "Search by subject - a patient", _PATIENT_OR_GROUP),
    ("performer", "reference", "Procedure.performer.actor", "Procedure-performer", "The reference to the practitioner", _REQUESTERS),
    ("pertains-to-goal", "reference", f"Procedure.extension('{PERTAINS_TO_GOAL_URL}').value", HUB_SEARCH_PARAMETER_BASE + "pertains-to-goal", _PERTAINS_TO_GOAL_DOC, ("Goal",)),
    ("reason-code", "token", "Procedure.reasonCode", "Procedure-reason-code", "Coded reason procedure performed", ()),
    ("reason-reference", "reference", "Procedure.reasonReference", "Procedure-reason-reference", "The justification that the procedure was performed", ("Condition", "Observation", "Procedure", "DiagnosticReport", "DocumentReference")),
    ("status", "token", "Procedure.status", "Procedure-status", "preparation | in-progress | not-done | on-hold | stopped | completed | entered-in-error | unknown", ()),
    ("subject", "reference", "Procedure.subject", "Procedure-subject", "Search by subject", ("Group", "Patient")),
]

_DOCUMENT_REFERENCE: list[_Row] = [
    ("authenticator", "reference", "DocumentReference.authenticator", "DocumentReference-authenticator", "Who/what authenticated the document", ("Practitioner", "Organization", "PractitionerRole")),
    ("author", "reference", "DocumentReference.author", "DocumentReference-author", "Who and/or what authored the document", _REQUESTERS),
    ("category", "token", "DocumentReference.category", "DocumentReference-category", "Categorization of document", ()),
    ("contenttype", "token", "DocumentReference.content.attachment.contentType", "DocumentReference-contenttype", "Mime type of the content, with charset etc.", ()),
    ("custodian", "reference", "DocumentReference.custodian", "DocumentReference-custodian", "Organization which maintains the document", ("Organization",)),
    ("date", "date", "DocumentReference.date", "DocumentReference-date", "When this document reference was created", ()),
    ("description", "string", "DocumentReference.description", "DocumentReference-description", "Human-readable description", ()),
    ("encounter", "reference", "DocumentReference.context.encounter", "clinical-encounter", "Context of the document  content", _ENCOUNTER),
    ("event", "token", "DocumentReference.context.event", "DocumentReference-event", "Main clinical acts documented", ()),
    ("facility", "token", "DocumentReference.context.facilityType", "DocumentReference-facility", "Kind of facility where patient was seen", ()),
    ("format", "token", "DocumentReference.content.format", "DocumentReference-format", "Format/content rules for the document", ()),
    ("identifier", "token", "DocumentReference.masterIdentifier | DocumentReference.identifier", "clinical-identifier", "Master Version Specific Identifier", ()),
    ("language", "token", "DocumentReference.content.attachment.language", "DocumentReference-language", "Human language of the content (BCP-47)", ()),
    ("location", "uri", "DocumentReference.content.attachment.url", "DocumentReference-location", "Uri where the data can be found", ()),
    ("patient", "reference", "DocumentReference.subject.where(resolve() is Patient)", "clinical-patient", "Who/what is the subject of the document", _PATIENT_OR_GROUP),
    ("period", "date", "DocumentReference.context.period", "DocumentReference-period", "Time of service that is being documented", ()),
    ("related", "reference", "DocumentReference.context.related", "DocumentReference-related", "Related identifiers or resources", _ANY),
    ("relatesto", "reference", "DocumentReference.relatesTo.target", "DocumentReference-relatesto", "Target of the relationship", ("DocumentReference",)),
    ("relation", "token", "DocumentReference.relatesTo.code", "DocumentReference-relation", "replaces | transforms | signs | appends", ()),
    ("security-label", "token", "DocumentReference.securityLabel", "DocumentReference-security-label", "Document security-tags", ()),
    ("setting", "token", "DocumentReference.context.practiceSetting", "DocumentReference-setting", "Additional details about where the content was created (e.g. clinical specialty)", ()),
    ("status", "token", "DocumentReference.status", "DocumentReference-status", "current | superseded | entered-in-error", ()),
    ("subject", "reference", "DocumentReference.subject", "DocumentReference-subject", "Who/what is the subject of the document", ("Practitioner", "Group", "Device", "Patient")),
    ("type", "token", "DocumentReference.type", "clinical-type", "Kind of document (LOINC if possible)", ()),
]

_COMMUNICATION: list[_Row] = [
    ("based-on", "reference", "Communication.basedOn", "Communication-based-on", "Request fulfilled by this communication", _ANY),
    ("category", "token", "Communication.category", "Communication-category", "Message category", ()),
    ("encounter", "reference", "Communication.encounter", "Communication-encounter", "Encounter created as part of", ("Encounter",)),
    ("identifier", "token", "Communication.identifier", "Communication-identifier", "Unique identifier", ()),
    ("instantiates-canonical", "reference", "Communication.instantiatesCanonical", "Communication-instantiates-canonical", "Instantiates FHIR protocol or definition", ("PlanDefinition", "Questionnaire", "Measure", "ActivityDefinition", "OperationDefinition")),
    ("instantiates-uri", "uri", "Communication.instantiatesUri", "Communication-instantiates-uri", "Instantiates external protocol or definition", ()),
    ("medium", "token", "Communication.medium", "Communication-medium", "A channel of communication", ()),
    ("part-of", "reference", "Communication.partOf", "Communication-part-of", "Part of this action", _ANY),
    ("patient", "reference", "Communication.subject.where(resolve() is Patient)", "Communication-patient", "Focus of message", ("Patient",)),
    ("received", "date", "Communication.received", "Communication-received", "When received", ()),
    ("recipient", "reference", "Communication.recipient", "Communication-recipient", "Message recipient", ("Practitioner", "Group", "Organization", "CareTeam", "Device", "Patient", "HealthcareService", "PractitionerRole", "RelatedPerson")),
    ("sender", "reference", "Communication.sender", "Communication-sender", "Message sender", ("Practitioner", "Organization", "Device", "Patient", "HealthcareService", "PractitionerRole", "RelatedPerson")),
    ("sent", "date", "Communication.sent", "Communication-sent", "When sent", ()),
    ("status", "token", "Communication.status", "Communication-status", "preparation | in-progress | not-done | on-hold | stopped | completed | entered-in-error | unknown", ()),
    ("subject", "reference", "Communication.subject", "Communication-subject", "Focus of message", ("Group", "Patient")),
]

_PROVENANCE: list[_Row] = [
    ("agent", "reference", "Provenance.agent.who", "Provenance-agent", "Who participated", _REQUESTERS),
    ("agent-role", "token", "Provenance.agent.role", "Provenance-agent-role", "What the agents role was", ()),
    ("agent-type", "token", "Provenance.agent.type", "Provenance-agent-type", "How the agent participated", ()),
    ("entity", "reference", "Provenance.entity.what", "Provenance-entity", "Identity of entity", _ANY),
    ("location", "reference", "Provenance.location", "Provenance-location", "Where the activity occurred, if relevant", ("Location",)),
    ("patient", "reference", "Provenance.target.where(resolve() is Patient)", "Provenance-patient", "Target Reference(s) (usually version specific)", ("Patient",)),
    ("recorded", "date", "Provenance.recorded", "Provenance-recorded", "When the activity was recorded / updated", ()),
    ("signature-type", "token", "Provenance.signature.type", "Provenance-signature-type", "Indication of the reason the entity signed the object(s)", ()),
    ("target", "reference", "Provenance.target", "Provenance-target", "Target Reference(s) (usually version specific)", _ANY),
    ("when", "date", "(Provenance.occurred as dateTime)", "Provenance-when", "When the activity occurred", ()),
]

_TABLE: dict[str, list[_Row]] = {
    "CareTeam": _CARE_TEAM,
    "Communication": _COMMUNICATION,
    "Condition": _CONDITION,
    "Consent": _CONSENT,
    "Device": _DEVICE,
    "DocumentReference": _DOCUMENT_REFERENCE,
    "Goal": _GOAL,
    "Group": _GROUP,
    "HealthcareService": _HEALTHCARE_SERVICE,
    "Location": _LOCATION,
    "Observation": _OBSERVATION,
    "Organization": _ORGANIZATION,
    "Patient": _PATIENT,
    "Practitioner": _PRACTITIONER,
    "PractitionerRole": _PRACTITIONER_ROLE,
    "Procedure": _PROCEDURE,
    "Provenance": _PROVENANCE,
    "Questionnaire": _QUESTIONNAIRE,
    "QuestionnaireResponse": _QUESTIONNAIRE_RESPONSE,
    "RelatedPerson": _RELATED_PERSON,
    "ServiceRequest": _SERVICE_REQUEST,
    "Task": _TASK,
}

# fmt: on


def _definition(ref: str) -> str:
    return ref if "://" in ref else R4_SEARCH_PARAMETER_BASE + ref


def _build() -> dict[str, Mapping[str, SearchParam]]:
    registry: dict[str, Mapping[str, SearchParam]] = {}
    for resource_type in sorted(_TABLE):
        params: dict[str, SearchParam] = {}
        for code, param_type, expression, ref, documentation, targets in [*_COMMON, *_TABLE[resource_type]]:
            if code in params:
                raise ValueError(f"duplicate search parameter {resource_type}.{code}")
            params[code] = SearchParam(
                resource_type, code, param_type, expression, _definition(ref), documentation, tuple(targets)
            )
        registry[resource_type] = MappingProxyType(dict(sorted(params.items())))
    return registry


_REGISTRY: dict[str, Mapping[str, SearchParam]] = _build()
_RESOURCE_TYPES: tuple[str, ...] = tuple(sorted(_REGISTRY))


def params_for(resource_type: str) -> Mapping[str, SearchParam]:
    """The search parameters of ``resource_type`` by code (read-only); empty for an unsupported type."""
    return _REGISTRY.get(resource_type, MappingProxyType({}))


def all_resource_types() -> tuple[str, ...]:
    """The 22 supported resource types, sorted."""
    return _RESOURCE_TYPES


__all__ = [
    "COLUMN_PARAMS",
    "HUB_SEARCH_PARAMETER_BASE",
    "PERTAINS_TO_GOAL_URL",
    "SDOHCC_SEARCH_PARAMETER_BASE",
    "ParamType",
    "SearchParam",
    "all_resource_types",
    "params_for",
]
