"""Stage 2 rules for ServiceRequest, Procedure, Condition, Consent, Goal, Observation (§4.3–4.9) — HTTP 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from referral_hub.fhir.validation import validate_resource
from tests.fhir_validation.validation_helpers import SDOHCC_CS, US_CORE_CATEGORY, assert_rejected, coding

Example = Callable[[str], dict[str, Any]]
SR = "ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"
PROCEDURE = "Procedure-SDOHCC-ProcedureFoodPantryApplicationAssistanceExample"
CONDITION = "Condition-SDOHCC-ConditionFoodInsecurityExample"
CONSENT = "Consent-SDOHCC-ConsentInformationDisclosureExample"
GOAL = "Goal-SDOHCC-GoalFoodSecurityExample"
OBS_ASSESSMENT = "Observation-SDOHCC-ObservationAssessmentInadequateFoodIntakeExample"
OBS_RESPONSE = "Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example"


def _strip_profile(resource: dict[str, Any]) -> dict[str, Any]:
    resource.pop("meta", None)
    return resource


# --- ServiceRequest (SR-1) ------------------------------------------------------------------------------


def test_sdohcc_service_request_needs_a_code(example: Example) -> None:
    sr = example(SR)
    del sr["code"]

    assert_rejected(sr, 422, "ServiceRequest.code", "required")


def test_service_request_with_sdoh_category_gets_the_rules_without_a_profile_claim(example: Example) -> None:
    sr = _strip_profile(example(SR))
    del sr["code"]

    assert_rejected(sr, 422, "ServiceRequest.code", "required")


def test_plain_service_request_without_code_is_r4_valid() -> None:
    sr = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
    }

    assert validate_resource(sr) == []


def test_service_request_category_with_unknown_sdohcc_code_is_code_invalid(example: Example) -> None:
    sr = example(SR)
    sr["category"][1]["coding"][0]["code"] = "hunger"

    assert_rejected(sr, 422, "ServiceRequest.category[1].coding[0].code", "code-invalid")


def test_service_request_subject_must_be_a_patient_group_or_location(example: Example) -> None:
    sr = example(SR)
    sr["subject"] = {"reference": "Practitioner/SDOHCC-PractitionerDrJanWaterExample"}

    assert_rejected(sr, 422, "ServiceRequest.subject", "value")


def test_service_request_may_not_carry_a_specimen(example: Example) -> None:
    sr = example(SR)
    sr["specimen"] = [{"reference": "Specimen/s"}]

    assert_rejected(sr, 422, "ServiceRequest.specimen", "structure")


def test_sub_referral_with_filler_order_has_no_warning(example: Example) -> None:
    sr = example("ServiceRequest-SDOHCC-ServiceRequestSubreferralGardenProgramExample")
    sr["intent"] = "filler-order"

    assert validate_resource(sr) == []


def test_sub_referral_with_original_order_is_only_a_warning(example: Example) -> None:
    sr = example("ServiceRequest-SDOHCC-ServiceRequestSubreferralGardenProgramExample")

    warnings = validate_resource(sr)

    assert [(w.severity, w.code, w.expression) for w in warnings] == [
        ("warning", "business-rule", "ServiceRequest.intent")
    ]


# --- Procedure (P-1) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "in-progress"])
def test_sdohcc_procedure_done_or_doing_needs_performed(example: Example, status: str) -> None:  # us-core-7
    proc = example(PROCEDURE)
    proc["status"] = status
    del proc["performedDateTime"]

    assert_rejected(proc, 422, "Procedure.performed[x]", "invariant")


def test_procedure_performed_as_a_period_satisfies_us_core_7(example: Example) -> None:
    proc = example(PROCEDURE)
    del proc["performedDateTime"]
    proc["performedPeriod"] = {"start": "2020-11-01", "end": "2020-11-02"}

    assert validate_resource(proc) == []


def test_planned_sdohcc_procedure_without_performed_is_accepted(example: Example) -> None:
    proc = example(PROCEDURE)
    proc["status"] = "preparation"
    del proc["performedDateTime"]

    assert validate_resource(proc) == []


def test_plain_completed_procedure_without_performed_only_warns() -> None:
    proc = {"resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/p"}}

    warnings = validate_resource(proc)

    assert [(w.severity, w.expression) for w in warnings] == [("warning", "Procedure.performed[x]")]


def test_procedure_claiming_us_core_needs_performed() -> None:
    proc = {
        "resourceType": "Procedure",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-procedure|7.0.0"]},
        "status": "completed",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p"},
    }

    assert_rejected(proc, 422, "Procedure.performed[x]", "invariant")


def test_sdohcc_procedure_needs_a_code(example: Example) -> None:
    proc = example(PROCEDURE)
    del proc["code"]

    assert_rejected(proc, 422, "Procedure.code", "required")


def test_sdohcc_procedure_based_on_must_be_a_service_request_or_care_plan(example: Example) -> None:
    proc = example(PROCEDURE)
    proc["basedOn"] = [{"reference": "Task/t"}]

    assert_rejected(proc, 422, "Procedure.basedOn[0]", "value")


def test_procedure_category_codeable_concept_is_checked_for_sdoh_codes(example: Example) -> None:
    proc = example("Procedure-SDOHCC-ProcedureProvisionOfFoodExample")
    proc["category"]["coding"][1]["code"] = "resulting-activity"

    assert_rejected(proc, 422, "Procedure.category.coding[1].code", "code-invalid")


# --- Condition -----------------------------------------------------------------------------------------


def test_sdohcc_condition_needs_a_problem_or_health_concern_category(example: Example) -> None:  # SDOH-Con-2
    cond = example(CONDITION)
    cond["category"] = [c for c in cond["category"] if c["coding"][0]["code"] != "health-concern"]

    assert_rejected(cond, 422, "Condition.category", "invariant")


def test_sdohcc_condition_needs_the_sdoh_category(example: Example) -> None:  # SDOH-Con-3
    cond = example(CONDITION)
    cond["category"] = [c for c in cond["category"] if c["coding"][0]["code"] != "sdoh"]

    exc = assert_rejected(cond, 422, "Condition.category", "invariant")
    assert "SDOH-Con-3" in exc.errors[0].diagnostics


def test_sdohcc_condition_needs_two_categories(example: Example) -> None:
    cond = example(CONDITION)
    cond["category"] = [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"},
                {"system": US_CORE_CATEGORY, "code": "sdoh"},
            ]
        }
    ]

    assert_rejected(cond, 422, "Condition.category", "required")


def test_problem_list_item_from_the_hl7_system_satisfies_sdoh_con_2(example: Example) -> None:
    cond = example(CONDITION)
    cond["category"][0] = coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")

    assert validate_resource(cond) == []


def test_sdohcc_condition_with_asserter_and_asserter_device_breaks_sdoh_con_1(example: Example) -> None:
    cond = example("Condition-SDOHCC-ConditionAsserterDeviceExample")
    cond["asserter"] = {"reference": "Practitioner/SDOHCC-PractitionerDrJanWaterExample"}

    assert_rejected(cond, 422, "Condition.asserter", "invariant")


def test_condition_with_sdohcc_category_gets_the_rules_without_a_profile_claim(example: Example) -> None:
    cond = _strip_profile(example(CONDITION))
    cond["category"] = [c for c in cond["category"] if c["coding"][0]["code"] != "sdoh"]

    assert_rejected(cond, 422, "Condition.category", "invariant")


def test_sdohcc_condition_may_not_have_a_body_site(example: Example) -> None:
    cond = example(CONDITION)
    cond["bodySite"] = [{"text": "stomach"}]

    assert_rejected(cond, 422, "Condition.bodySite", "structure")


def test_abated_condition_must_not_be_active(example: Example) -> None:  # con-4
    cond = example(CONDITION)
    cond["abatementDateTime"] = "2021-01-01"

    assert_rejected(cond, 422, "Condition.clinicalStatus", "invariant")


def test_condition_entered_in_error_must_not_have_clinical_status(example: Example) -> None:  # con-5
    cond = example(CONDITION)
    cond["verificationStatus"]["coding"][0]["code"] = "entered-in-error"

    assert_rejected(cond, 422, "Condition.clinicalStatus", "invariant")


def test_plain_problem_list_condition_without_clinical_status_warns() -> None:  # con-3 is a warning in R4
    cond = {
        "resourceType": "Condition",
        "category": [coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")],
        "subject": {"reference": "Patient/p"},
    }

    assert [w.expression for w in validate_resource(cond)] == ["Condition.clinicalStatus"]


# --- Consent (C-1) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "expression"),
    [
        ("dateTime", "Consent.dateTime"),
        ("organization", "Consent.organization"),
        ("sourceAttachment", "Consent.source[x]"),
        ("category", "Consent.category"),
    ],
)
def test_sdohcc_consent_missing_a_required_element_is_rejected(example: Example, element: str, expression: str) -> None:
    consent = example(CONSENT)
    if element == "category":
        consent["category"] = [{"text": "something else"}]
    else:
        del consent[element]

    assert_rejected(consent, 422, expression, "required")


def test_sdohcc_consent_names_exactly_one_organization(example: Example) -> None:
    consent = example(CONSENT)
    consent["organization"].append({"reference": "Organization/SDOHCC-OrganizationClinicExample"})

    assert_rejected(consent, 422, "Consent.organization", "required")


def test_consent_source_may_be_a_document_reference(example: Example) -> None:
    consent = example(CONSENT)
    del consent["sourceAttachment"]
    consent["sourceReference"] = {"reference": "DocumentReference/DocumentReferenceExample"}

    assert validate_resource(consent) == []


def test_any_consent_without_policy_breaks_ppc_1(example: Example) -> None:
    consent = _strip_profile(example(CONSENT))
    del consent["policyRule"]

    assert_rejected(consent, 422, "Consent.policyRule", "invariant")


def test_privacy_consent_without_patient_breaks_ppc_2(example: Example) -> None:
    consent = _strip_profile(example(CONSENT))
    del consent["patient"]

    assert_rejected(consent, 422, "Consent.patient", "invariant")


# --- Goal and Observation --------------------------------------------------------------------------------


def test_sdohcc_goal_category_with_unknown_sdohcc_code_is_code_invalid(example: Example) -> None:
    goal = example(GOAL)
    goal["category"] = [coding(SDOHCC_CS, "happiness")]

    assert_rejected(goal, 422, "Goal.category[0].coding[0].code", "code-invalid")


def test_sdohcc_goal_subject_must_be_a_patient(example: Example) -> None:
    goal = example(GOAL)
    goal["subject"] = {"reference": "Group/g"}

    assert_rejected(goal, 422, "Goal.subject", "value")


def test_sdoh_observation_needs_the_sdoh_category(example: Example) -> None:  # SDOH-Obs-4
    obs = example(OBS_ASSESSMENT)
    obs["category"] = [c for c in obs["category"] if c["coding"][0]["code"] != "sdoh"]

    assert_rejected(obs, 422, "Observation.category", "invariant")


def test_sdoh_observation_needs_a_subject(example: Example) -> None:
    obs = example(OBS_ASSESSMENT)
    del obs["subject"]

    assert_rejected(obs, 422, "Observation.subject", "required")


def test_screening_response_status_is_limited_to_its_value_set(example: Example) -> None:
    obs = example(OBS_RESPONSE)
    obs["status"] = "preliminary"

    assert_rejected(obs, 422, "Observation.status", "code-invalid")


def test_screening_response_needs_effective(example: Example) -> None:
    obs = example(OBS_RESPONSE)
    for key in [k for k in obs if k.startswith("effective")]:
        del obs[key]

    assert_rejected(obs, 422, "Observation.effective[x]", "required")


def test_personal_characteristic_observation_is_pass_through(example: Example) -> None:
    obs = example("Observation-SDOHCC-ObservationPersonalPronounsExample")
    del obs["meta"]

    assert validate_resource(obs) == []
