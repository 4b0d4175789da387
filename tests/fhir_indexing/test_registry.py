"""The registry covers what the Gravity CapabilityStatements ask of our server (gravity-sdoh-cc.md §6, §8.2)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from referral_hub.fhir.fhirpath_lite import CHOICE_ELEMENTS, compile_expression
from referral_hub.fhir.search_params import (
    COLUMN_PARAMS,
    HUB_SEARCH_PARAMETER_BASE,
    SearchParam,
    all_resource_types,
    params_for,
)

SUPPORTED = (
    "CareTeam", "Communication", "Condition", "Consent", "Device", "DocumentReference", "Goal", "Group",
    "HealthcareService", "Location", "Observation", "Organization", "Patient", "Practitioner", "PractitionerRole",
    "Procedure", "Provenance", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "ServiceRequest", "Task",
)  # fmt: skip

# §6.2.2 SDOHCC Coordination Platform, mode server: search params SHALL + SHOULD (+ MAY) per resource.
# Observation code-value-concept (MAY) is deliberately not offered (registry docstring), so it is listed apart.
COORDINATION_PLATFORM_SERVER: dict[str, set[str]] = {
    "CareTeam": {"_id", "_lastUpdated"},
    "Condition": {"_id", "category", "patient", "_lastUpdated", "clinical-status", "code", "verification-status"},
    "Consent": {"_id", "source-reference", "_lastUpdated"},
    "Device": {"_id", "_lastUpdated"},
    "DocumentReference": {"_id", "_lastUpdated"},
    "Goal": {"_id", "category", "patient", "_lastUpdated", "achievement-status", "lifecycle-status", "target-date"},
    "Group": {"_id", "code", "member", "_lastUpdated", "characteristic-value", "managing-entity"},
    "HealthcareService": {"_id", "location", "_lastUpdated"},
    "Location": {"_id", "_lastUpdated"},
    "Observation": {"_id", "category", "patient", "status", "_lastUpdated", "code", "date", "derived-from"},
    "Organization": {"_id", "_lastUpdated"},
    "Patient": {"_id", "_lastUpdated"},
    "Practitioner": {"_id", "_lastUpdated"},
    "PractitionerRole": {"_id", "_lastUpdated", "organization", "practitioner"},
    "Procedure": {"_id", "based-on", "category", "patient", "performer", "status", "_lastUpdated", "code", "date"},
    "Questionnaire": {
        "url", "version", "code", "context-type-value", "identifier", "publisher", "status", "subject-type", "title",
    },
    "QuestionnaireResponse": {"_id", "author", "patient", "questionnaire", "status", "_lastUpdated", "authored"},
    "RelatedPerson": {"_id", "_lastUpdated"},
    "ServiceRequest": {
        "_id", "category", "intent", "patient", "status", "_lastUpdated", "code", "occurrence", "performer",
        "requester", "supporting-info",
    },
    "Task": {"_id", "code", "patient", "requester", "status", "focus", "_lastUpdated", "owner", "output"},
}  # fmt: skip
NOT_OFFERED = {("Observation", "code-value-concept")}

# §6.2.1 Referral Source server differs only in Consent (source-reference SHALL) — same sets; §6.4 adds the
# standard parameters the workflow relies on, and §6.1 the _include targets ([INC-SR], Task, Consent, Group).
RELIED_ON = {
    "Task": {"part-of"},
    "ServiceRequest": {"based-on", "pertains-to-goal"},
}
INCLUDES = [
    ("HealthcareService", "location"), ("ServiceRequest", "supporting-info"), ("ServiceRequest", "pertains-to-goal"),
    ("ServiceRequest", "patient"), ("ServiceRequest", "requester"), ("ServiceRequest", "performer"),
    ("PractitionerRole", "practitioner"), ("PractitionerRole", "organization"), ("Task", "focus"),
    ("Task", "output"), ("Consent", "source-reference"), ("Group", "member"),
]  # fmt: skip

# The brief's "obvious everyday" parameters.
EVERYDAY: dict[str, set[str]] = {
    "Patient": {
        "name", "family", "given", "birthdate", "identifier", "telecom", "phone", "email", "address-postalcode",
        "gender",
    },
    "Organization": {"name", "identifier", "type", "active"},
    "Location": {"name", "address", "address-postalcode", "organization"},
    "HealthcareService": {"name", "service-category", "location", "organization", "active"},
    "Task": {"part-of", "authored-on", "modified", "intent", "business-status", "identifier", "subject", "based-on"},
    "ServiceRequest": {"based-on", "subject", "authored", "identifier"},
    "Observation": {"subject", "value-concept", "has-member", "encounter"},
    "Provenance": {"target", "agent", "recorded", "patient"},
    "Communication": {
        "subject", "patient", "based-on", "part-of", "recipient", "sender", "sent", "status", "category",
    },
    "Questionnaire": {"url", "version", "name", "title", "status", "code", "publisher", "identifier"},
    "QuestionnaireResponse": {
        "questionnaire", "patient", "subject", "author", "authored", "status", "based-on", "part-of",
    },
    "DocumentReference": {"patient", "subject", "type", "category", "date", "status"},
    "Consent": {"patient", "status", "category", "date", "source-reference", "organization"},
    "CareTeam": {"patient", "subject", "status", "participant"},
    "Group": {"code", "member", "characteristic", "value", "type", "managing-entity", "characteristic-value"},
    "Device": {"type", "status", "identifier"},
    "RelatedPerson": {"patient", "name", "relationship"},
}  # fmt: skip

ALL_PARAMS = [param for rt in all_resource_types() for param in params_for(rt).values()]


def test_registry_supports_exactly_the_22_hub_resource_types_sorted() -> None:
    assert all_resource_types() == tuple(sorted(SUPPORTED))
    assert len(all_resource_types()) == 22


def test_unknown_resource_type_has_no_parameters() -> None:
    assert dict(params_for("Subscription")) == {}


@pytest.mark.parametrize("resource_type", sorted(COORDINATION_PLATFORM_SERVER))
def test_every_coordination_platform_server_parameter_is_registered(resource_type: str) -> None:
    wanted = COORDINATION_PLATFORM_SERVER[resource_type] | RELIED_ON.get(resource_type, set())
    wanted -= {code for rt, code in NOT_OFFERED if rt == resource_type}
    missing = wanted - set(params_for(resource_type))
    assert not missing, f"{resource_type} lacks {sorted(missing)}"


@pytest.mark.parametrize("resource_type", sorted(EVERYDAY))
def test_everyday_r4_parameters_are_registered(resource_type: str) -> None:
    missing = EVERYDAY[resource_type] - set(params_for(resource_type))
    assert not missing, f"{resource_type} lacks {sorted(missing)}"


def test_observation_code_value_concept_composite_is_not_claimed() -> None:
    assert "code-value-concept" not in params_for("Observation")


@pytest.mark.parametrize(("resource_type", "code"), INCLUDES)
def test_include_targets_of_the_capability_statements_are_reference_parameters(resource_type: str, code: str) -> None:
    assert params_for(resource_type)[code].type == "reference"


@pytest.mark.parametrize("resource_type", SUPPORTED)
def test_every_resource_lists_the_common_parameters_with_their_r4_types(resource_type: str) -> None:
    params = params_for(resource_type)
    assert {code: params[code].type for code in ("_id", "_lastUpdated", "_profile", "_tag", "_security")} == {
        "_id": "token",
        "_lastUpdated": "date",
        "_profile": "uri",
        "_tag": "token",
        "_security": "token",
    }
    assert params["_profile"].definition == "http://hl7.org/fhir/SearchParameter/Resource-profile"


def test_id_and_last_updated_are_marked_as_store_columns() -> None:
    assert {"_id", "_lastUpdated"} == COLUMN_PARAMS


def test_ig_search_parameters_carry_the_ig_canonicals() -> None:
    output = params_for("Task")["output"]
    assert output.definition == "http://hl7.org/fhir/us/sdoh-clinicalcare/SearchParameter/Task-output-reference"
    assert output.expression == "Task.output.value.ofType(Reference)"
    supporting = params_for("ServiceRequest")["supporting-info"]
    assert supporting.definition == (
        "http://hl7.org/fhir/us/sdoh-clinicalcare/SearchParameter/ServiceRequest-supporting-info"
    )
    assert supporting.expression == "ServiceRequest.supportingInfo"


@pytest.mark.parametrize("resource_type", ["ServiceRequest", "Procedure"])
def test_pertains_to_goal_is_the_hubs_own_reference_to_goal(resource_type: str) -> None:
    param = params_for(resource_type)["pertains-to-goal"]
    assert param.definition == HUB_SEARCH_PARAMETER_BASE + "pertains-to-goal"
    assert param.expression == (
        f"{resource_type}.extension('http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal').value"
    )
    assert param.targets == ("Goal",)


@pytest.mark.parametrize(
    ("resource_type", "code", "definition", "expression"),
    [
        ("Task", "patient", "Task-patient", "Task.for.where(resolve() is Patient)"),
        ("Observation", "patient", "clinical-patient", "Observation.subject.where(resolve() is Patient)"),
        ("Observation", "date", "clinical-date", "Observation.effective"),
        ("Observation", "value-concept", "Observation-value-concept", "(Observation.value as CodeableConcept)"),
        ("Patient", "phone", "individual-phone", "Patient.telecom.where(system='phone')"),
        ("Procedure", "date", "clinical-date", "Procedure.performed"),
        ("Goal", "target-date", "Goal-target-date", "(Goal.target.due as date)"),
        ("Consent", "source-reference", "Consent-source-reference", "Consent.source"),
        ("ServiceRequest", "occurrence", "ServiceRequest-occurrence", "ServiceRequest.occurrence"),
        ("Questionnaire", "url", "Questionnaire-url", "Questionnaire.url"),
    ],
)
def test_r4_parameters_keep_their_published_id_and_expression(
    resource_type: str, code: str, definition: str, expression: str
) -> None:
    param = params_for(resource_type)[code]
    assert param.definition == "http://hl7.org/fhir/SearchParameter/" + definition
    assert param.expression == expression


@pytest.mark.parametrize("param", ALL_PARAMS, ids=lambda p: f"{p.resource_type}.{p.code}")
def test_parameter_is_well_formed_and_its_expression_compiles(param: SearchParam) -> None:
    assert re.fullmatch(r"_?[a-z][a-zA-Z-]*", param.code)
    assert param.definition.startswith(("http://", "https://"))
    assert param.documentation
    if param.type != "reference":
        assert param.targets == ()
    compiled = compile_expression(param.expression)
    for branch in compiled.branches:
        assert branch.root in (param.resource_type, "Resource")


# --- the evaluator's idea of choice elements agrees with the FHIR model (fhir.resources R4B) -------------------------

_MODEL_TYPE_RE = re.compile(r"abc\.(\w+?)Type\b")


def _model_fields(cls: Any) -> tuple[dict[str, Any], set[str]]:
    by_alias = {field.alias or name: field for name, field in cls.model_fields.items()}
    choices = {
        (field.json_schema_extra or {}).get("one_of_many")
        for field in cls.model_fields.values()
        if isinstance(field.json_schema_extra, dict)
    }
    return by_alias, {choice for choice in choices if choice}


def _walk(resource_type: str, names: tuple[str, ...], choice: str | None) -> None:
    cls: Any = get_fhir_model_class(resource_type)
    context = resource_type
    for name in names:
        if name.startswith("extension('"):
            cls, context = get_fhir_model_class("Extension"), "Extension"
            continue
        assert cls is not None, f"{context}.{name}: stepping into a primitive"
        by_alias, choices = _model_fields(cls)
        context = f"{context}.{name}"
        if name == choice:
            assert name in choices, f"{context} is not a choice element"
            assert context in CHOICE_ELEMENTS
            return
        assert name in by_alias, f"{context} does not exist in the R4B model"
        assert name not in choices, f"{context} is a choice element missing from CHOICE_ELEMENTS"
        match = _MODEL_TYPE_RE.search(str(by_alias[name].annotation))
        cls = get_fhir_model_class(match.group(1)) if match else None


@pytest.mark.parametrize("param", ALL_PARAMS, ids=lambda p: f"{p.resource_type}.{p.code}")
def test_expression_paths_exist_in_the_fhir_model_with_choices_recognised(param: SearchParam) -> None:
    for branch in compile_expression(param.expression).branches:
        root = param.resource_type if branch.root == "Resource" else branch.root
        _walk(root, branch.element_path, branch.choice)
