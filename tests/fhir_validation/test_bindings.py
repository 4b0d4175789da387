"""Required value sets of base R4 that fhir.resources does not check: 422 code-invalid (brief rule 1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from referral_hub.fhir.validation import validate_resource
from referral_hub.fhir.validation.codes import REQUIRED_CODE_BINDINGS
from tests.fhir_validation.validation_helpers import assert_rejected

# A minimal valid instance of every resource type named in the binding table.
MINIMAL: dict[str, dict[str, Any]] = {
    "Task": {"resourceType": "Task", "status": "draft", "intent": "order"},
    "ServiceRequest": {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
    },
    "Procedure": {"resourceType": "Procedure", "status": "preparation", "subject": {"reference": "Patient/p"}},
    "Communication": {"resourceType": "Communication", "status": "preparation"},
    "Consent": {
        "resourceType": "Consent",
        "status": "draft",
        "scope": {"text": "other"},
        "category": [{"text": "other"}],
        "policyRule": {"text": "house rules"},
    },
    "Goal": {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "eat well"},
        "subject": {"reference": "Patient/p"},
    },
    "Observation": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
    "QuestionnaireResponse": {"resourceType": "QuestionnaireResponse", "status": "completed"},
    "Questionnaire": {"resourceType": "Questionnaire", "status": "draft"},
    "Patient": {"resourceType": "Patient", "gender": "female"},
    "Practitioner": {"resourceType": "Practitioner", "gender": "female"},
    "RelatedPerson": {"resourceType": "RelatedPerson", "patient": {"reference": "Patient/p"}, "gender": "male"},
    "CareTeam": {"resourceType": "CareTeam", "status": "active"},
    "Location": {"resourceType": "Location", "status": "active", "mode": "instance"},
    "Group": {"resourceType": "Group", "type": "person", "actual": True},
    "Device": {"resourceType": "Device", "status": "active"},
    "DocumentReference": {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": "final",
        "content": [{"attachment": {"url": "http://example.org/a.pdf"}}],
    },
}


@pytest.mark.parametrize(("resource_type", "element"), sorted(REQUIRED_CODE_BINDINGS), ids=lambda v: str(v))
def test_minimal_resource_with_valid_codes_is_accepted(resource_type: str, element: str) -> None:
    assert validate_resource(dict(MINIMAL[resource_type]), workflow=False) == []


@pytest.mark.parametrize(("resource_type", "element"), sorted(REQUIRED_CODE_BINDINGS), ids=lambda v: str(v))
def test_unknown_code_in_a_required_binding_is_code_invalid(resource_type: str, element: str) -> None:
    resource = dict(MINIMAL[resource_type], **{element: "bogus"})

    exc = assert_rejected(resource, 422, f"{resource_type}.{element}", "code-invalid", workflow=False)
    assert "'bogus'" in exc.errors[0].diagnostics


def test_task_status_received_is_a_valid_r4_code_for_a_plain_task() -> None:
    assert validate_resource(dict(MINIMAL["Task"], status="received"), workflow=False) == []


@pytest.mark.parametrize("element", ["clinicalStatus", "verificationStatus"])
def test_condition_status_concept_with_unknown_code_is_code_invalid(
    example: Callable[[str], dict[str, Any]], element: str
) -> None:
    condition = example("Condition-SDOHCC-ConditionFoodInsecurityExample")
    condition[element]["coding"][0]["code"] = "sort-of"

    assert_rejected(condition, 422, f"Condition.{element}.coding.code", "code-invalid")


def test_condition_status_concept_without_a_coding_from_its_system_is_code_invalid(
    example: Callable[[str], dict[str, Any]],
) -> None:
    condition = example("Condition-SDOHCC-ConditionFoodInsecurityExample")
    condition["clinicalStatus"] = {"text": "active-ish"}

    assert_rejected(condition, 422, "Condition.clinicalStatus", "code-invalid")


def test_narrative_status_outside_its_value_set_is_code_invalid(example: Callable[[str], dict[str, Any]]) -> None:
    patient = example("Patient-pat-53234")
    patient["text"]["status"] = "handwritten"

    assert_rejected(patient, 422, "Patient.text.status", "code-invalid")
