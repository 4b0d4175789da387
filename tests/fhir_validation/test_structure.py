"""Stage 1: malformed input is refused with 400 and a FHIRPath to the bad element (brief rule 1)."""

from __future__ import annotations

from typing import Any

import pytest

from referral_hub.fhir.validation import SUPPORTED_RESOURCE_TYPES, ValidationError, validate_resource
from tests.fhir_validation.validation_helpers import assert_rejected, rejection


@pytest.mark.parametrize("body", [[], [{"resourceType": "Task"}], 42, "Task", None, True, 1.5])
def test_body_that_is_not_a_json_object_is_rejected_as_structure(body: Any) -> None:
    exc = rejection(body)

    assert exc.http_status == 400
    assert exc.issues[0].severity == "fatal"
    assert exc.issues[0].code == "structure"


def test_missing_resource_type_is_rejected() -> None:
    assert_rejected({"id": "x"}, 400, "Resource.resourceType", "required")


@pytest.mark.parametrize("rt", ["Bundle", "Foo", "task", "StructureDefinition", "x" * 10_000])
def test_unsupported_resource_type_is_not_supported(rt: str) -> None:
    exc = assert_rejected({"resourceType": rt}, 400, "Resource.resourceType", "not-supported")
    assert len(exc.issues[0].diagnostics) < 200


def test_supported_resource_types_are_the_22_of_the_hub() -> None:
    assert len(SUPPORTED_RESOURCE_TYPES) == 22
    assert {"Task", "ServiceRequest", "Procedure", "Provenance", "Communication"} <= SUPPORTED_RESOURCE_TYPES


@pytest.mark.parametrize("bad_id", ["a b", "a/b", "ä", "x" * 65, "a_b"])
def test_resource_id_outside_the_fhir_id_pattern_is_rejected(referral_task: dict[str, Any], bad_id: str) -> None:
    referral_task["id"] = bad_id

    assert_rejected(referral_task, 400, "Task.id")


def test_sixty_four_character_id_is_accepted(referral_task: dict[str, Any]) -> None:
    referral_task["id"] = "A-1." + "x" * 60

    assert validate_resource(referral_task) == []


@pytest.mark.parametrize(
    ("element", "value", "expression"),
    [
        ("status", 5, "Task.status"),
        ("status", ["requested"], "Task.status"),
        ("intent", {"code": "order"}, "Task.intent"),
        ("authoredOn", 20200911, "Task.authoredOn"),
        ("authoredOn", "yesterday", "Task.authoredOn"),
        ("code", '{"text": "fulfill"}', "Task.code"),  # fhir.resources would json-decode this string
        ("code", [{"text": "fulfill"}], "Task.code"),
        ("note", {"text": "not a list"}, "Task.note"),
        ("input", [{"type": "x", "valueString": "y"}], "Task.input[0].type"),
        ("input", [[1]], "Task.input[0]"),
        ("input", [{"type": {"text": "t"}}], "Task.input[0].value[x]"),
        ("input", [{"type": {"text": "t"}, "valueString": "a", "valueBoolean": True}], "Task.input[0].value[x]"),
        ("input", [{"valueString": "y"}], "Task.input[0].type"),
        ("input", [{"type": {"text": "t"}, "valueBoolean": "true"}], "Task.input[0].valueBoolean"),
        ("input", [{"type": {"text": "t"}, "valueInteger": "5"}], "Task.input[0].valueInteger"),
        ("input", [{"type": {"text": "t"}, "valueInteger": 5.0}], "Task.input[0].valueInteger"),
        ("input", [{"type": {"text": "t"}, "valueDecimal": "5.5"}], "Task.input[0].valueDecimal"),
        ("wibble", 1, "Task.wibble"),
        ("owner", {}, "Task.owner"),
        ("note", [], "Task.note"),
        ("description", "", "Task.description"),
        ("description", None, "Task.description"),
        ("priority", float("nan"), "Task.priority"),
        ("description", b"bytes", "Task.description"),
        ("description", {1, 2}, "Task.description"),
        ("extension", [{"url": "http://example.org/x"}], "Task.extension[0]"),
        (
            "extension",
            [{"url": "http://e.org/x", "valueString": "a", "extension": [{"url": "u", "valueCode": "c"}]}],
            "Task.extension[0]",
        ),
        (
            "_status",
            {"extension": [{"url": "http://e.org/x", "valueString": 1}]},
            "Task.status.extension[0].valueString",
        ),
        ("contained", [{"resourceType": "NoSuchThing", "id": "c"}], "Task.contained[0].resourceType"),
        ("contained", [5], "Task.contained[0]"),
        ("contained", [{"resourceType": "Patient", "id": "p", "gender": 7}], "Task.contained[0].gender"),
    ],
)
def test_malformed_element_is_rejected_with_its_fhirpath(
    referral_task: dict[str, Any], element: str, value: Any, expression: str
) -> None:
    referral_task[element] = value

    assert_rejected(referral_task, 400, expression)


@pytest.mark.parametrize("element", ["status", "intent"])
def test_missing_r4_required_element_is_a_required_issue(referral_task: dict[str, Any], element: str) -> None:
    del referral_task[element]

    assert_rejected(referral_task, 400, f"Task.{element}", "required")


def test_resource_type_of_a_different_supported_resource_is_validated_as_that_type(
    referral_task: dict[str, Any],
) -> None:
    referral_task["resourceType"] = "Patient"

    exc = assert_rejected(referral_task, 400, "Patient.status")
    assert all(i.expression.startswith("Patient") for i in exc.errors)


def test_non_string_property_name_is_rejected_without_crashing(referral_task: dict[str, Any]) -> None:
    referral_task[5] = "x"  # type: ignore[index]

    assert_rejected(referral_task, 400, "Task")


def test_hostile_nesting_is_rejected_before_the_model_recurses(referral_task: dict[str, Any]) -> None:
    ext: dict[str, Any] = {"url": "http://e.org/x", "valueString": "leaf"}
    for _ in range(5000):
        ext = {"url": "http://e.org/x", "extension": [ext]}
    referral_task["extension"] = [ext]

    exc = rejection(referral_task)

    assert exc.http_status == 400
    assert "nested" in exc.errors[0].diagnostics


def test_moderately_nested_extensions_are_fine(referral_task: dict[str, Any]) -> None:
    ext: dict[str, Any] = {"url": "http://e.org/x", "valueString": "leaf"}
    for _ in range(20):
        ext = {"url": "http://e.org/x", "extension": [ext]}
    referral_task["extension"] = [ext]

    assert validate_resource(referral_task) == []


def test_huge_string_is_validated_without_error(referral_task: dict[str, Any]) -> None:
    referral_task["description"] = "x" * 5_000_000

    assert validate_resource(referral_task) == []


def test_nulls_aligned_with_primitive_extension_arrays_are_accepted(example: Any) -> None:
    patient = example("Patient-pat-53234")
    patient["name"] = [
        {
            "given": ["Colin", None],
            "_given": [None, {"extension": [{"url": "http://e.org/initial", "valueBoolean": True}]}],
        }
    ]

    assert validate_resource(patient) == []


def test_null_in_an_array_without_extension_twin_is_rejected(example: Any) -> None:
    patient = example("Patient-pat-53234")
    patient["name"] = [{"given": ["Colin", None]}]

    assert_rejected(patient, 400, "Patient.name[0].given[1]")


def test_many_errors_are_capped_and_reported_together(referral_task: dict[str, Any]) -> None:
    referral_task["note"] = [{"text": i} for i in range(500)]

    exc = rejection(referral_task)

    assert exc.http_status == 400
    assert len(exc.issues) > 1
    assert len(exc.issues) <= 60


def test_validation_error_lists_errors_first_and_names_the_status(referral_task: dict[str, Any]) -> None:
    referral_task["status"] = 5

    with pytest.raises(ValidationError, match="HTTP 400: Task.status"):
        validate_resource(referral_task)
