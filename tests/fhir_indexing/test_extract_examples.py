"""Index values extracted from the IG 2.3.0 examples: one table row per resource type (gravity-sdoh-cc.md §9.2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from referral_hub.fhir.indexer import (
    DATETIME_MAX,
    DateValue,
    IndexValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    UriValue,
    extract_index,
)
from referral_hub.fhir.search_params import COLUMN_PARAMS, all_resource_types, params_for
from tests.fhir_indexing.ig_examples import example_paths, load_example

SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
SDOHCC_SD = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
PATIENT = ReferenceValue("patient", "Patient/pat-53234")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _ms(text: str) -> DateValue:
    """The range a dateTime written to the millisecond covers."""
    low = _at(text)
    return DateValue("", low, low.replace(microsecond=low.microsecond + 999))


def _day(param: str, text: str) -> DateValue:
    return DateValue(param, _at(text), _at(text).replace(hour=23, minute=59, second=59, microsecond=999999))


def _named(param: str, value: DateValue) -> DateValue:
    return DateValue(param, value.low, value.high)


# (example file stem, values that must be among its index values, values that must not)
CASES: list[tuple[str, set[IndexValue], set[IndexValue]]] = [
    (
        "Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample",
        {
            ReferenceValue("output", "Procedure/SDOHCC-ProcedureFoodPantryApplicationAssistanceExample"),
            TokenValue("status", None, "completed"),
            TokenValue("code", "http://hl7.org/fhir/CodeSystem/task-code", "fulfill"),
            TokenValue("intent", None, "order"),
            ReferenceValue("focus", "ServiceRequest/SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"),
            PATIENT,
            ReferenceValue("subject", "Patient/pat-53234"),
            ReferenceValue("requester", "PractitionerRole/SDOHCC-PractitionerRoleDrJanWaterExample"),
            ReferenceValue("owner", "Organization/SDOHCC-OrganizationCoordinationPlatformExample"),
            _named("authored-on", _ms("2020-09-11T21:56:54.671")),
            UriValue("_profile", SDOHCC_SD + "SDOHCC-TaskForReferralManagement"),
        },
        set(),
    ),
    (
        "Task-SDOHCC-TaskReferralManagementOrderSubtaskCompletedExample",
        {
            ReferenceValue("part-of", "Task/SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample"),
            ReferenceValue("requester", "Organization/SDOHCC-OrganizationCoordinationPlatformExample"),
            ReferenceValue("output", "Procedure/SDOHCC-ProcedureSummerFoodProgramApplicationAssistanceExample"),
        },
        set(),
    ),
    (
        "Task-SDOHCC-TaskPatientRiskQuestionnaireCompletedExample",
        {
            ReferenceValue("output", "QuestionnaireResponse/SDOHCC-QuestionnaireResponseHungerVitalSignExample"),
            ReferenceValue("owner", "Patient/pat-53234"),
            TokenValue("priority", None, "routine"),
            TokenValue("code", "http://hl7.org/fhir/uv/sdc/CodeSystem/temp", "complete-questionnaire"),
            UriValue("_profile", SDOHCC_SD + "SDOHCC-TaskForPatient"),
        },
        set(),
    ),
    (
        "ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample",
        {
            TokenValue("category", SCT, "410606002"),
            TokenValue("category", SDOHCC, "food-insecurity"),
            TokenValue("code", SCT, "467771000124109"),
            TokenValue("intent", None, "order"),
            TokenValue("status", None, "active"),
            PATIENT,
        },
        set(),
    ),
    (
        "ServiceRequest-SDOHCC-ServiceRequestSubreferralSummerFoodProgramExample",
        {
            ReferenceValue("based-on", "ServiceRequest/SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"),
            TokenValue("intent", None, "original-order"),
        },
        set(),
    ),
    (
        "Procedure-SDOHCC-ProcedureFoodPantryApplicationAssistanceExample",
        {
            ReferenceValue("based-on", "ServiceRequest/SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"),
            TokenValue("category", SDOHCC, "food-insecurity"),
            TokenValue("status", None, "completed"),
            ReferenceValue("reason-reference", "Condition/SDOHCC-ConditionFoodInsecurityExample"),
            _day("date", "2020-09-16"),  # performedDateTime "2020-09-16": a whole day
            PATIENT,
        },
        set(),
    ),
    (
        "Consent-SDOHCC-ConsentInformationDisclosureExample",
        {
            TokenValue("category", "http://terminology.hl7.org/CodeSystem/v3-ActCode", "IDSCL"),
            TokenValue("scope", "http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
            TokenValue("status", None, "active"),
            ReferenceValue("organization", "Organization/SDOHCC-OrganizationPayerExample"),
            PATIENT,
            _day("date", "2021-05-01"),
        },
        set(),  # its source is an Attachment, so no source-reference (checked below)
    ),
    (
        "Condition-SDOHCC-ConditionFoodInsecurityExample",
        {
            TokenValue("clinical-status", "http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
            TokenValue(
                "verification-status", "http://terminology.hl7.org/CodeSystem/condition-ver-status", "unconfirmed"
            ),
            TokenValue("category", "http://hl7.org/fhir/us/core/CodeSystem/condition-category", "health-concern"),
            TokenValue("category", SDOHCC, "food-insecurity"),
            TokenValue("code", SCT, "733423003"),
            TokenValue("code", "http://hl7.org/fhir/sid/icd-10-cm", "Z59.4"),
            ReferenceValue("evidence-detail", "Observation/SDOHCC-ObservationResponseHungerVitalSignQuestion3Example"),
            # onsetPeriod with a start only: open-ended
            DateValue("onset-date", _ms("2019-08-18T12:31:35.123").low, DATETIME_MAX),
            PATIENT,
        },
        set(),
    ),
    (
        "Goal-SDOHCC-GoalFoodSecurityExample",
        {
            TokenValue("lifecycle-status", None, "active"),
            TokenValue("achievement-status", "http://terminology.hl7.org/CodeSystem/goal-achievement", "improving"),
            TokenValue("category", SDOHCC, "food-insecurity"),
            _day("target-date", "2020-12-10"),
            PATIENT,
        },
        set(),
    ),
    (
        "Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example",
        {
            TokenValue("category", "http://terminology.hl7.org/CodeSystem/observation-category", "survey"),
            TokenValue("category", SDOHCC, "food-insecurity"),
            TokenValue("code", LOINC, "88124-3"),
            TokenValue("value-concept", LOINC, "LA19952-3"),
            TokenValue("status", None, "final"),
            ReferenceValue("derived-from", "QuestionnaireResponse/SDOHCC-QuestionnaireResponseHungerVitalSignExample"),
            _named("date", _ms("2020-09-10T21:56:54.671")),
            PATIENT,
        },
        set(),
    ),
    (
        "Observation-SDOHCC-ObservationResponseNHANESGroupingExample",
        {ReferenceValue("has-member", "Observation/SDOHCC-ObservationResponseNHANESQuestion1Example")},
        set(),
    ),
    (
        "Observation-SDOHCC-ObservationResponseNHANESQuestion4Example",
        {QuantityValue("value-quantity", Decimal(7), "http://unitsofmeasure.org", "/wk", "per week")},
        set(),
    ),
    (
        "Observation-SDOHCC-ObservationEthnicityOMBExample",
        {
            TokenValue("component-code", LOINC, "69490-1"),
            TokenValue("component-value-concept", "urn:oid:2.16.840.1.113883.6.238", "2135-2"),
        },
        set(),
    ),
    (
        "QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample",
        {
            ReferenceValue(
                "questionnaire",
                "http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnaireHungerVitalSign",
            ),
            TokenValue("status", None, "completed"),
            ReferenceValue("source", "Patient/pat-53234"),
            PATIENT,
        },
        set(),
    ),
    (
        "Questionnaire-SDOHCC-QuestionnaireHungerVitalSign",
        {
            UriValue(
                "url", "http://hl7.org/fhir/us/sdoh-clinicalcare/Questionnaire/SDOHCC-QuestionnaireHungerVitalSign"
            ),
            TokenValue("version", None, "2.3.0"),
            TokenValue("status", None, "draft"),
            TokenValue("code", LOINC, "88122-7"),
            TokenValue("subject-type", None, "Patient"),
            StringValue("title", "SDOHCC Questionnaire Hunger Vital Sign"),
            StringValue("publisher", "HL7 International / Patient Care"),
        },
        set(),
    ),
    (
        "Group-SDOHCC-GroupSDOHPatientsForPayerExample",
        {
            TokenValue("characteristic", SDOHCC, "payer-coverage"),
            TokenValue("characteristic-value", None, "Organization/SDOHCC-OrganizationPayerExample"),
            TokenValue("value", None, "Organization/SDOHCC-OrganizationPayerExample"),
            TokenValue("actual", None, "true"),
            TokenValue("type", None, "person"),
        },
        set(),
    ),
    (
        "Patient-pat-53234",
        {
            StringValue("family", "ABBAS"),
            StringValue("given", "COLIN"),
            StringValue("name", "ABBAS"),
            StringValue("address-postalcode", "74047"),
            StringValue("address", "Mounds"),
            TokenValue("gender", None, "male"),
            TokenValue("identifier", "http://hospital.smarthealthit.org", "1032702"),
            TokenValue("phone", "phone", "555-555-5555"),
            TokenValue("telecom", "phone", "555-555-5555"),
            _day("birthdate", "1987-02-20"),
        },
        set(),
    ),
    (
        "Practitioner-SDOHCC-PractitionerDrJanWaterExample",
        {TokenValue("identifier", "http://hl7.org/fhir/sid/us-npi", "9941339100"), StringValue("family", "Water")},
        set(),
    ),
    (
        "PractitionerRole-SDOHCC-PractitionerRoleDrJanWaterExample",
        {
            ReferenceValue("practitioner", "Practitioner/SDOHCC-PractitionerDrJanWaterExample"),
            ReferenceValue("organization", "Organization/SDOHCC-OrganizationClinicExample"),
            TokenValue("role", "http://nucc.org/provider-taxonomy", "207Q00000X"),
            TokenValue("email", "email", "jan.water@deerland.org"),
        },
        # the email is not a phone
        {TokenValue("phone", "email", "jan.water@deerland.org")},
    ),
    (
        "Organization-SDOHCC-OrganizationCoordinationPlatformExample",
        {StringValue("name", "ABC Coordination Platform"), TokenValue("active", None, "true")},
        set(),
    ),
    (
        "Location-SDOHCC-LocationExample",
        {
            StringValue("name", "Family Counseling Services Deerland Clinic"),
            StringValue("address-city", "Deerland"),
            StringValue("address-postalcode", "62223"),
        },
        set(),
    ),
    (
        "HealthcareService-SDOHCC-HealthcareServiceTelecomAppointmentExample",
        {
            ReferenceValue("location", "Location/SDOHCC-LocationExample"),
            StringValue("name", "Family Counseling Services"),
        },
        set(),
    ),
    (
        "RelatedPerson-SDOHCC-RelatedPersonMotherExample",
        {
            PATIENT,
            TokenValue("relationship", "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "NMTH"),
            StringValue("name", "Eve"),
        },
        set(),
    ),
    (
        "Device-SDOHCC-DeviceSoftwareExample",
        {TokenValue("type", SCT, "706689003"), TokenValue("identifier", "http://software.org/devices/id", "345675")},
        set(),
    ),
    (
        "DocumentReference-DocumentReferenceExample",
        {
            TokenValue("status", None, "current"),
            UriValue(
                "location", "https://www.cdc.gov/diabetes/pdfs/managing/Managing-Diabetes_CMS-CDC_English-508.pdf"
            ),
        },
        set(),
    ),
]


@pytest.mark.parametrize(("stem", "present", "absent"), CASES, ids=[case[0] for case in CASES])
def test_example_yields_its_search_values(stem: str, present: set[IndexValue], absent: set[IndexValue]) -> None:
    values = set(extract_index(load_example(stem)))
    assert present <= values, f"missing: {present - values}"
    assert not (absent & values)


def test_table_covers_every_resource_type_present_in_the_ig_examples() -> None:
    types_in_examples = {load_example(path.stem)["resourceType"] for path in example_paths()}
    types_in_table = {load_example(stem)["resourceType"] for stem, _present, _absent in CASES}
    assert types_in_examples == types_in_table


_VALUE_CLASS: dict[str, type] = {
    "token": TokenValue,
    "reference": ReferenceValue,
    "date": DateValue,
    "string": StringValue,
    "number": NumberValue,
    "quantity": QuantityValue,
    "uri": UriValue,
}


@pytest.mark.parametrize("path", example_paths(), ids=lambda path: path.stem)
def test_every_example_extracts_typed_deduplicated_values_of_registered_parameters(path: Path) -> None:
    resource = load_example(path.stem)
    values = extract_index(resource)
    assert values, "every example has at least a status, code or profile to index"
    assert len(values) == len(set(values))
    params = params_for(resource["resourceType"])
    for value in values:
        assert value.param in params
        assert value.param not in COLUMN_PARAMS
        assert isinstance(value, _VALUE_CLASS[params[value.param].type])
        if isinstance(value, DateValue):
            assert value.low.tzinfo is UTC
            assert value.high.tzinfo is UTC
            assert value.low <= value.high


def test_the_57_ig_examples_cover_all_but_three_supported_types() -> None:
    paths = example_paths()
    assert len(paths) == 57
    covered = {load_example(path.stem)["resourceType"] for path in paths}
    assert set(all_resource_types()) - covered == {"CareTeam", "Communication", "Provenance"}


def test_consent_with_an_attachment_source_has_no_source_reference() -> None:
    values = extract_index(load_example("Consent-SDOHCC-ConsentInformationDisclosureExample"))
    assert [value for value in values if value.param == "source-reference"] == []


def test_extraction_does_not_modify_the_resource(example: Callable[[str], dict[str, Any]]) -> None:
    resource = example("Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample")
    before = repr(resource)
    extract_index(resource)
    assert repr(resource) == before
