"""Stage 2 rules of the two SDOHCC Task profiles (§4.1, §4.2; checks T-2, T-10, T-11, PT-1) — HTTP 422."""

from __future__ import annotations

from typing import Any

import pytest

from referral_hub.fhir.validation import validate_resource
from referral_hub.fhir.validation.profiles import task_kind
from tests.fhir_validation.validation_helpers import SDC_TEMP, SDOHCC_CS, assert_rejected, coding

PATIENT_PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForPatient"


def test_valid_new_referral_task_is_accepted(referral_task: dict[str, Any]) -> None:
    assert validate_resource(referral_task) == []


# --- which rules apply ---------------------------------------------------------------------------------


def test_task_with_fulfill_code_but_no_profile_claim_gets_the_referral_rules(referral_task: dict[str, Any]) -> None:
    del referral_task["meta"]
    del referral_task["focus"]

    assert task_kind(referral_task) == "referral"
    assert_rejected(referral_task, 422, "Task.focus", "required")


def test_task_claiming_the_referral_profile_gets_its_rules_whatever_the_code(referral_task: dict[str, Any]) -> None:
    referral_task["code"] = coding(SDOHCC_CS, "make-contact")

    assert task_kind(referral_task) == "referral"
    assert_rejected(referral_task, 422, "Task.code", "value")


def test_patient_profile_claim_beats_a_fulfill_code(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["code"] = coding("http://hl7.org/fhir/CodeSystem/task-code", "fulfill")

    assert task_kind(questionnaire_task) == "patient"


def test_patient_task_code_without_profile_claim_gets_the_patient_rules(questionnaire_task: dict[str, Any]) -> None:
    del questionnaire_task["meta"]
    del questionnaire_task["owner"]

    assert task_kind(questionnaire_task) == "patient"
    assert_rejected(questionnaire_task, 422, "Task.owner", "required", workflow=False)


def test_other_tasks_get_only_r4_rules() -> None:
    task = {"resourceType": "Task", "status": "received", "intent": "plan", "code": {"text": "call back"}}

    assert task_kind(task) == "other"
    assert validate_resource(task) == []


# --- SDOHCC Task For Referral Management ---------------------------------------------------------------


@pytest.mark.parametrize("element", ["focus", "for", "authoredOn", "requester", "code"])
def test_referral_task_without_a_required_element_is_rejected(referral_task: dict[str, Any], element: str) -> None:
    del referral_task[element]

    assert_rejected(referral_task, 422, f"Task.{element}", "required")


def test_referral_task_with_another_code_is_rejected(referral_task: dict[str, Any]) -> None:
    referral_task["code"] = coding("http://hl7.org/fhir/CodeSystem/task-code", "approve")

    assert_rejected(referral_task, 422, "Task.code", "value")


@pytest.mark.parametrize("intent", ["plan", "filler-order", "proposal"])
def test_referral_task_intent_must_be_order(referral_task: dict[str, Any], intent: str) -> None:
    referral_task["intent"] = intent

    assert_rejected(referral_task, 422, "Task.intent", "value")


@pytest.mark.parametrize("status", ["received", "ready"])
def test_referral_task_status_outside_the_referral_value_set_is_code_invalid(
    referral_task: dict[str, Any], status: str
) -> None:
    referral_task["status"] = status

    assert_rejected(referral_task, 422, "Task.status", "code-invalid", workflow=False)


def test_status_reason_without_text_is_rejected(referral_task: dict[str, Any]) -> None:  # T-10
    referral_task["status"] = "rejected"
    referral_task["statusReason"] = coding("http://example.org/reasons", "at-capacity")

    assert_rejected(referral_task, 422, "Task.statusReason.text", "required", workflow=False)


def test_status_reason_with_text_is_accepted(referral_task: dict[str, Any]) -> None:  # T-10
    referral_task["status"] = "rejected"
    referral_task["statusReason"] = {"text": "No capacity this month"}

    assert validate_resource(referral_task, workflow=False) == []


@pytest.mark.parametrize("status", ["rejected", "cancelled", "on-hold", "failed"])
def test_stopping_statuses_require_a_reason_text(referral_task: dict[str, Any], status: str) -> None:
    referral_task["status"] = status

    assert_rejected(referral_task, 422, "Task.statusReason.text", "required", workflow=False)


def test_blank_status_reason_text_counts_as_missing(referral_task: dict[str, Any]) -> None:
    referral_task["statusReason"] = {"text": "   "}

    assert_rejected(referral_task, 422, "Task.statusReason.text", "required")


def test_completed_referral_task_without_output_is_rejected(completed_referral_task: dict[str, Any]) -> None:  # T-11
    del completed_referral_task["output"]

    assert_rejected(completed_referral_task, 422, "Task.output", "required", workflow=False)


def test_completed_referral_task_with_a_procedure_code_output_is_accepted(
    completed_referral_task: dict[str, Any],
) -> None:
    out = completed_referral_task["output"][0]
    del out["valueReference"]
    out["valueCodeableConcept"] = coding("http://snomed.info/sct", "467771000124109")

    assert validate_resource(completed_referral_task, workflow=False) == []


def test_completed_referral_task_output_may_use_an_absolute_procedure_url(
    completed_referral_task: dict[str, Any],
) -> None:
    completed_referral_task["output"][0]["valueReference"] = {"reference": "https://cbo.example.org/fhir/Procedure/9"}

    assert validate_resource(completed_referral_task, workflow=False) == []


def test_referral_output_of_another_type_is_rejected(completed_referral_task: dict[str, Any]) -> None:
    completed_referral_task["output"][0]["type"] = coding(SDOHCC_CS, "chosen-contact")

    assert_rejected(completed_referral_task, 422, "Task.output[0].type", "value", workflow=False)


def test_referral_output_must_reference_a_procedure(completed_referral_task: dict[str, Any]) -> None:
    completed_referral_task["output"][0]["valueReference"] = {"reference": "Observation/o1"}

    assert_rejected(completed_referral_task, 422, "Task.output[0].value[x]", "value", workflow=False)


def test_referral_output_must_be_a_reference_or_a_code(completed_referral_task: dict[str, Any]) -> None:
    out = completed_referral_task["output"][0]
    del out["valueReference"]
    out["valueString"] = "we helped"

    assert_rejected(completed_referral_task, 422, "Task.output[0].value[x]", "value", workflow=False)


@pytest.mark.parametrize(
    ("element", "reference"),
    [
        ("focus", "Patient/pat-53234"),
        ("for", "Organization/o1"),
        ("requester", "Patient/pat-53234"),
    ],
)
def test_referral_task_reference_to_the_wrong_resource_type_is_rejected(
    referral_task: dict[str, Any], element: str, reference: str
) -> None:
    referral_task[element] = {"reference": reference}

    assert_rejected(referral_task, 422, f"Task.{element}", "value")


def test_referral_task_part_of_must_reference_a_task(referral_task: dict[str, Any]) -> None:
    referral_task["partOf"] = [{"reference": "ServiceRequest/s1"}]

    assert_rejected(referral_task, 422, "Task.partOf[0]", "value")


@pytest.mark.parametrize(
    "reference",
    ["#sr1", "urn:uuid:6f1c4d8e-0000-4000-8000-000000000001", "https://ehr.example.org/fhir/ServiceRequest/5"],
)
def test_references_whose_target_cannot_be_told_or_is_remote_are_accepted(
    referral_task: dict[str, Any], reference: str
) -> None:
    referral_task["focus"] = {"reference": reference}
    if reference.startswith("#"):
        referral_task["contained"] = [
            {
                "resourceType": "ServiceRequest",
                "id": "sr1",
                "status": "active",
                "intent": "order",
                "subject": {"reference": "Patient/pat-53234"},
            }
        ]

    assert validate_resource(referral_task) == []


def test_last_modified_before_authored_on_breaks_inv_1(referral_task: dict[str, Any]) -> None:
    referral_task["lastModified"] = "2020-09-10T00:00:00Z"

    assert_rejected(referral_task, 422, "Task.lastModified", "invariant")


@pytest.mark.parametrize(
    "last_modified", ["2020-09-11", "2020", "2020-09-11T21:56:54.671Z", "2020-09-12T08:00:00+09:00"]
)
def test_last_modified_not_certainly_before_authored_on_is_fine(
    referral_task: dict[str, Any], last_modified: str
) -> None:
    referral_task["lastModified"] = last_modified

    assert validate_resource(referral_task) == []


def test_inv_1_applies_to_plain_tasks_too() -> None:
    task = {
        "resourceType": "Task",
        "status": "draft",
        "intent": "plan",
        "authoredOn": "2024-05-02",
        "lastModified": "2024-05-01",
    }

    assert_rejected(task, 422, "Task.lastModified", "invariant")


# --- SDOHCC Task For Patient ----------------------------------------------------------------------------


def test_valid_new_patient_task_is_accepted(questionnaire_task: dict[str, Any]) -> None:  # PT-1
    questionnaire_task["status"] = "ready"
    del questionnaire_task["output"]

    assert validate_resource(questionnaire_task) == []


@pytest.mark.parametrize("status", ["requested", "accepted", "rejected", "received", "draft"])
def test_patient_task_status_outside_its_value_set_is_code_invalid(
    questionnaire_task: dict[str, Any], status: str
) -> None:
    questionnaire_task["status"] = status

    assert_rejected(questionnaire_task, 422, "Task.status", "code-invalid", workflow=False)


@pytest.mark.parametrize("element", ["priority", "owner", "for", "requester", "authoredOn", "code"])
def test_patient_task_without_a_required_element_is_rejected(questionnaire_task: dict[str, Any], element: str) -> None:
    del questionnaire_task[element]
    if element == "code":
        questionnaire_task["meta"] = {"profile": [PATIENT_PROFILE]}

    assert_rejected(questionnaire_task, 422, f"Task.{element}", "required", workflow=False)


@pytest.mark.parametrize("priority", ["asap", "stat"])
def test_patient_task_priority_must_be_routine_or_urgent(questionnaire_task: dict[str, Any], priority: str) -> None:
    questionnaire_task["priority"] = priority

    assert_rejected(questionnaire_task, 422, "Task.priority", "code-invalid", workflow=False)


def test_patient_task_owner_must_be_the_patient_or_a_related_person(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["owner"] = {"reference": "Organization/SDOHCC-OrganizationClinicExample"}

    assert_rejected(questionnaire_task, 422, "Task.owner", "value", workflow=False)


def test_patient_task_owned_by_a_related_person_is_accepted(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["owner"] = {"reference": "RelatedPerson/SDOHCC-RelatedPersonMotherExample"}

    assert validate_resource(questionnaire_task, workflow=False) == []


def test_patient_cancelling_without_reason_gets_a_warning_not_an_error(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["status"] = "cancelled"
    del questionnaire_task["output"]

    warnings = validate_resource(questionnaire_task, workflow=False)

    assert [(w.severity, w.expression) for w in warnings] == [("warning", "Task.statusReason.text")]


def test_sdoh_task_1_needs_a_questionnaire_source(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["input"] = [
        e for e in questionnaire_task["input"] if e["type"]["coding"][0]["code"] != "questionnaire"
    ]
    del questionnaire_task["output"]

    assert_rejected(questionnaire_task, 422, "Task.input", "invariant", workflow=False)


def test_sdoh_task_1_allows_only_one_questionnaire_source(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["input"].append(
        {"type": coding(SDOHCC_CS, "questionnaire-url"), "valueUrl": "https://forms.example.org/hvs"}
    )

    assert_rejected(questionnaire_task, 422, "Task.input", "invariant", workflow=False)


def test_sdoh_task_1_needs_a_questionnaire_category(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["input"] = [
        e for e in questionnaire_task["input"] if e["type"]["coding"][0]["code"] != "questionnaire-category"
    ]

    assert_rejected(questionnaire_task, 422, "Task.input", "invariant", workflow=False)


def test_questionnaire_category_must_come_from_its_value_set(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["input"][1]["valueCodeableConcept"] = coding(SDOHCC_CS, "food-insecurity")

    assert_rejected(questionnaire_task, 422, "Task.input[1].value[x]", "code-invalid", workflow=False)


def test_questionnaire_input_must_be_a_canonical(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["input"][0] = {"type": coding(SDC_TEMP, "questionnaire"), "valueString": "HVS"}

    assert_rejected(questionnaire_task, 422, "Task.input[0].value[x]", "value", workflow=False)


def test_sdoh_task_5_questionnaire_output_must_be_a_response(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["output"][0] = {"type": coding(SDOHCC_CS, "chosen-contact"), "valueMarkdown": "x"}

    assert_rejected(questionnaire_task, 422, "Task.output[0].type", "invariant", workflow=False)


def test_sdoh_task_6_pdf_questionnaire_output_must_use_the_sdohcc_code(questionnaire_task: dict[str, Any]) -> None:
    # The IG's FHIRPath checks the SDC system and never fires (§12); we enforce the intended SDOHCC code.
    questionnaire_task["input"][0] = {
        "type": coding(SDOHCC_CS, "questionnaire-pdf"),
        "valueReference": {"reference": "DocumentReference/DocumentReferenceExample"},
    }
    questionnaire_task["output"] = [
        {
            "type": coding(SDC_TEMP, "questionnaire-pdf-completed"),
            "valueReference": {"reference": "DocumentReference/filled"},
        }
    ]

    assert_rejected(questionnaire_task, 422, "Task.output[0].type", "invariant", workflow=False)


def test_pdf_questionnaire_with_completed_pdf_output_is_accepted(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["input"][0] = {
        "type": coding(SDOHCC_CS, "questionnaire-pdf"),
        "valueReference": {"reference": "DocumentReference/DocumentReferenceExample"},
    }
    questionnaire_task["output"] = [
        {
            "type": coding(SDOHCC_CS, "questionnaire-pdf-completed"),
            "valueReference": {"reference": "DocumentReference/filled"},
        }
    ]

    assert validate_resource(questionnaire_task, workflow=False) == []


def test_questionnaire_pdf_input_must_reference_a_document(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["input"][0] = {
        "type": coding(SDOHCC_CS, "questionnaire-pdf"),
        "valueReference": {"reference": "Questionnaire/q"},
    }
    del questionnaire_task["output"]

    assert_rejected(questionnaire_task, 422, "Task.input[0].value[x]", "value", workflow=False)


def test_sdoh_task_2_general_information_needs_a_description(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientInformationRequestCompletedExample")
    del task["description"]

    assert_rejected(task, 422, "Task.description", "invariant", workflow=False)


def test_sdoh_task_2_general_information_outputs_are_responses(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientInformationRequestCompletedExample")
    task["output"][0]["type"] = coding(SDOHCC_CS, "chosen-contact")

    assert_rejected(task, 422, "Task.output[0].type", "invariant", workflow=False)


def test_sdoh_task_3_review_material_needs_a_document_focus(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientReviewInformationCompletedExample")
    task["focus"] = {"reference": "ServiceRequest/s"}

    assert_rejected(task, 422, "Task.focus", "invariant", workflow=False)


def test_sdoh_task_3_review_material_without_focus_is_rejected(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientReviewInformationCompletedExample")
    del task["focus"]

    assert_rejected(task, 422, "Task.focus", "invariant", workflow=False)


def test_sdoh_task_4_make_contact_needs_a_contact_entity(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample")
    del task["input"]

    assert_rejected(task, 422, "Task.input", "invariant", workflow=False)


def test_contact_entity_must_reference_a_service_or_provider(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample")
    task["input"][0]["valueReference"] = {"reference": "Patient/pat-53234"}

    assert_rejected(task, 422, "Task.input[0].value[x]", "value", workflow=False)


def test_sdoh_task_7_make_contact_needs_a_description(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample")
    del task["description"]

    assert_rejected(task, 422, "Task.description", "invariant", workflow=False)


def test_sdoh_task_7_make_contact_outputs_are_chosen_contacts(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample")
    task["output"] = [{"type": coding(SDOHCC_CS, "general-information-response"), "valueMarkdown": "called"}]

    assert_rejected(task, 422, "Task.output[0].type", "invariant", workflow=False)


def test_make_contact_with_chosen_contact_output_is_accepted(example: Any) -> None:
    task = example("Task-SDOHCC-TaskPatientMakeAppointmentCompletedExample")
    task["output"] = [{"type": coding(SDOHCC_CS, "chosen-contact"), "valueMarkdown": "Family Counseling, Tue 3pm"}]

    assert validate_resource(task, workflow=False) == []


def test_patient_task_may_not_repeat_a_single_slice(questionnaire_task: dict[str, Any]) -> None:
    questionnaire_task["output"].append(dict(questionnaire_task["output"][0]))

    assert_rejected(questionnaire_task, 422, "Task.output", "structure", workflow=False)
