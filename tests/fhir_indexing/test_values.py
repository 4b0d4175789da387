"""How each kind of element becomes index values: dates, strings, tokens, references, numbers (R4 §3.1.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from referral_hub.fhir.indexer import (
    DATETIME_MAX,
    DATETIME_MIN,
    DateValue,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    date_range,
    extract_index,
    normalize_string,
)


def _values(resource: dict[str, Any], param: str) -> list[Any]:
    return [value for value in extract_index(resource) if value.param == param]


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- dates -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2020", _utc(2020, 1, 1), _utc(2020, 12, 31, 23, 59, 59, 999999)),
        ("2020-02", _utc(2020, 2, 1), _utc(2020, 2, 29, 23, 59, 59, 999999)),  # leap year
        ("2021-02", _utc(2021, 2, 1), _utc(2021, 2, 28, 23, 59, 59, 999999)),
        ("2020-12-10", _utc(2020, 12, 10), _utc(2020, 12, 10, 23, 59, 59, 999999)),
        ("2020-09-11T21:56", _utc(2020, 9, 11, 21, 56), _utc(2020, 9, 11, 21, 56, 59, 999999)),
        ("2020-09-11T21:56:54Z", _utc(2020, 9, 11, 21, 56, 54), _utc(2020, 9, 11, 21, 56, 54, 999999)),
        ("2020-09-11T21:56:54.671Z", _utc(2020, 9, 11, 21, 56, 54, 671000), _utc(2020, 9, 11, 21, 56, 54, 671999)),
        ("2020-09-11T21:56:54.1234567Z", _utc(2020, 9, 11, 21, 56, 54, 123456), _utc(2020, 9, 11, 21, 56, 54, 123456)),
        # zones are converted to UTC; no zone means UTC
        ("2020-09-11T21:56:54+02:00", _utc(2020, 9, 11, 19, 56, 54), _utc(2020, 9, 11, 19, 56, 54, 999999)),
        ("2020-12-31T23:30:00-05:00", _utc(2021, 1, 1, 4, 30), _utc(2021, 1, 1, 4, 30, 0, 999999)),
        ("2020-09-11T21:56:54", _utc(2020, 9, 11, 21, 56, 54), _utc(2020, 9, 11, 21, 56, 54, 999999)),
    ],
)
def test_partial_dates_expand_to_the_range_of_their_precision(text: str, low: datetime, high: datetime) -> None:
    assert date_range(text) == (low, high)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "20",
        "2020-13",
        "2020-02-30",
        "2020-01-01T25:00:00Z",
        "yesterday",
        "2020-01-01T10:00:00+5",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    ],
)
def test_unparseable_dates_give_no_range(text: str) -> None:
    assert date_range(text) is None


def test_period_becomes_one_range_from_start_to_end() -> None:
    task = {
        "resourceType": "Task",
        "executionPeriod": {"start": "2024-03-01", "end": "2024-03-05T10:00:00Z"},
    }
    assert _values(task, "period") == [
        DateValue("period", _utc(2024, 3, 1), _utc(2024, 3, 5, 10, 0, 0, 999999)),
    ]


def test_period_open_ends_extend_to_the_smallest_and_largest_instants() -> None:
    start_only = {"resourceType": "Task", "executionPeriod": {"start": "2024-03-01"}}
    end_only = {"resourceType": "Task", "executionPeriod": {"end": "2024-03-01"}}
    assert _values(start_only, "period") == [DateValue("period", _utc(2024, 3, 1), DATETIME_MAX)]
    assert _values(end_only, "period") == [DateValue("period", DATETIME_MIN, _utc(2024, 3, 1, 23, 59, 59, 999999))]
    assert DATETIME_MIN.tzinfo is UTC
    assert DATETIME_MAX.tzinfo is UTC


def test_choice_date_elements_index_every_date_like_type_and_nothing_else() -> None:
    period = {"resourceType": "Observation", "effectivePeriod": {"start": "2024-01-01", "end": "2024-01-02"}}
    instant = {"resourceType": "Observation", "effectiveInstant": "2024-01-01T08:00:00.5Z"}
    timing = {"resourceType": "Observation", "effectiveTiming": {"event": ["2024-01-01", "2024-02-01"]}}
    dated_procedure = {"resourceType": "Procedure", "performedString": "last spring"}
    assert _values(period, "date") == [DateValue("date", _utc(2024, 1, 1), _utc(2024, 1, 2, 23, 59, 59, 999999))]
    assert _values(instant, "date") == [
        DateValue("date", _utc(2024, 1, 1, 8, 0, 0, 500000), _utc(2024, 1, 1, 8, 0, 0, 599999))
    ]
    assert [value.low for value in _values(timing, "date")] == [_utc(2024, 1, 1), _utc(2024, 2, 1)]
    assert _values(dated_procedure, "date") == []


def test_service_request_occurrence_and_condition_onset_follow_their_choice_type() -> None:
    request = {"resourceType": "ServiceRequest", "occurrenceDateTime": "2024-05"}
    onset_string = {"resourceType": "Condition", "onsetString": "childhood"}
    assert _values(request, "occurrence") == [
        DateValue("occurrence", _utc(2024, 5, 1), _utc(2024, 5, 31, 23, 59, 59, 999999))
    ]
    assert _values(onset_string, "onset-date") == []
    assert _values(onset_string, "onset-info") == [StringValue("onset-info", "childhood")]


# --- strings ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("José", "jose"),
        ("  Zoë   Saldaña-García ", "zoe saldana-garcia"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower()
        ("ﬁnance", "finance"),  # NFKD folds the ligature
        ("Nguyễn\tVăn\nAn", "nguyen van an"),
        ("", ""),
    ],
)
def test_string_normalization_ignores_case_accents_and_spacing(raw: str, normalized: str) -> None:
    assert normalize_string(raw) == normalized


def test_human_name_and_address_expand_to_their_parts_with_raw_text() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"text": "Dr José Núñez", "family": "Núñez", "given": ["José", "María"], "prefix": ["Dr"]}],
        "address": [{"line": ["1 Main St", "Apt 2"], "city": "Springfield", "state": "IL", "postalCode": "62701"}],
    }
    assert {value.value for value in _values(patient, "name")} == {"Dr José Núñez", "Núñez", "José", "María", "Dr"}
    assert {value.value for value in _values(patient, "given")} == {"José", "María"}
    address_parts = {"1 Main St", "Apt 2", "Springfield", "IL", "62701"}
    assert {value.value for value in _values(patient, "address")} == address_parts
    assert _values(patient, "address-postalcode") == [StringValue("address-postalcode", "62701")]


def test_organization_name_includes_aliases() -> None:
    organization = {"resourceType": "Organization", "name": "Food Bank", "alias": ["The Pantry"]}
    assert _values(organization, "name") == [StringValue("name", "Food Bank"), StringValue("name", "The Pantry")]


# --- tokens ----------------------------------------------------------------------------------------------------------


def test_codeable_concept_gives_one_token_per_coding_and_none_for_text_only() -> None:
    condition = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}, {"code": "local-2"}], "text": "x"},
        "severity": {"text": "bad"},
    }
    assert _values(condition, "code") == [
        TokenValue("code", "http://snomed.info/sct", "1"),
        TokenValue("code", None, "local-2"),
    ]
    assert _values(condition, "severity") == []


def test_identifiers_booleans_and_codes_become_tokens() -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": "007"}, {"value": "no-system"}, {"system": "urn:x"}],
        "active": False,
        "gender": "female",
    }
    assert _values(patient, "identifier") == [
        TokenValue("identifier", "urn:mrn", "007"),
        TokenValue("identifier", None, "no-system"),
    ]
    assert _values(patient, "active") == [TokenValue("active", None, "false")]
    assert _values(patient, "gender") == [TokenValue("gender", None, "female")]


def test_phone_and_email_split_contact_points_by_their_system() -> None:
    patient = {
        "resourceType": "Patient",
        "telecom": [{"system": "phone", "value": "555-0100"}, {"system": "email", "value": "a@example.org"}],
    }
    assert _values(patient, "phone") == [TokenValue("phone", "phone", "555-0100")]
    assert _values(patient, "email") == [TokenValue("email", "email", "a@example.org")]
    assert len(_values(patient, "telecom")) == 2


def test_meta_tags_security_and_profiles_are_indexed_for_every_resource() -> None:
    goal = {
        "resourceType": "Goal",
        "meta": {
            "profile": ["http://example.org/p"],
            "tag": [{"system": "urn:t", "code": "demo"}],
            "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
            "lastUpdated": "2024-01-01T00:00:00Z",
        },
        "id": "g1",
    }
    params = {value.param for value in extract_index(goal)}
    assert {"_profile", "_tag", "_security"} <= params
    assert not params & {"_id", "_lastUpdated"}  # store columns, not index rows


# --- references ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "is_patient"),
    [
        ({"reference": "Patient/1"}, True),
        ({"reference": "Patient/1/_history/3"}, True),
        ({"reference": "https://ehr.example.org/fhir/Patient/abc"}, True),
        ({"reference": "Group/1"}, False),
        ({"reference": "https://ehr.example.org/fhir/Group/abc"}, False),
        ({"reference": "urn:uuid:5f2c", "type": "Patient"}, True),
        ({"identifier": {"value": "123"}, "type": "Patient"}, False),  # identifier-only: nothing literal to index
        ({"reference": "#contained"}, False),
    ],
)
def test_patient_parameter_keeps_only_references_to_patients(reference: dict[str, Any], is_patient: bool) -> None:
    task = {"resourceType": "Task", "for": reference}
    expected = [ReferenceValue("patient", reference["reference"])] if is_patient else []
    assert _values(task, "patient") == expected


def test_literal_references_are_kept_as_written_and_contained_ones_skipped() -> None:
    task = {
        "resourceType": "Task",
        "owner": {"reference": "https://cbo.example.org/fhir/Organization/9", "display": "CBO"},
        "basedOn": [{"reference": "#sr1"}, {"reference": "ServiceRequest/2"}],
    }
    assert _values(task, "owner") == [ReferenceValue("owner", "https://cbo.example.org/fhir/Organization/9")]
    assert _values(task, "based-on") == [ReferenceValue("based-on", "ServiceRequest/2")]


def test_task_output_indexes_only_reference_outputs() -> None:
    task = {
        "resourceType": "Task",
        "output": [
            {"type": {"text": "done"}, "valueReference": {"reference": "Procedure/p1"}},
            {"type": {"text": "note"}, "valueString": "Safeway, please"},
            {"type": {"text": "form"}, "valueCanonical": "http://example.org/Questionnaire/q"},
        ],
    }
    assert _values(task, "output") == [ReferenceValue("output", "Procedure/p1")]


def test_service_request_supporting_info_and_pertains_to_goal() -> None:
    request = {
        "resourceType": "ServiceRequest",
        "supportingInfo": [{"reference": "Consent/c1"}],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal",
                "valueReference": {"reference": "Goal/g1"},
            },
            {"url": "http://example.org/other", "valueReference": {"reference": "Goal/not-this"}},
        ],
    }
    assert _values(request, "supporting-info") == [ReferenceValue("supporting-info", "Consent/c1")]
    assert _values(request, "pertains-to-goal") == [ReferenceValue("pertains-to-goal", "Goal/g1")]


def test_canonical_elements_index_their_url_as_a_reference() -> None:
    response = {"resourceType": "QuestionnaireResponse", "questionnaire": "http://example.org/Questionnaire/q|1.0"}
    assert _values(response, "questionnaire") == [
        ReferenceValue("questionnaire", "http://example.org/Questionnaire/q|1.0")
    ]


def test_consent_source_reference_comes_from_source_reference_only() -> None:
    consent = {"resourceType": "Consent", "sourceReference": {"reference": "DocumentReference/d1"}}
    assert _values(consent, "source-reference") == [ReferenceValue("source-reference", "DocumentReference/d1")]


def test_provenance_patient_filters_targets_by_type() -> None:
    provenance = {"resourceType": "Provenance", "target": [{"reference": "Task/t1"}, {"reference": "Patient/p1"}]}
    assert _values(provenance, "patient") == [ReferenceValue("patient", "Patient/p1")]
    assert len(_values(provenance, "target")) == 2


# --- numbers and quantities ------------------------------------------------------------------------------------------


def test_quantities_keep_decimal_precision_and_skip_ranges() -> None:
    observation = {
        "resourceType": "Observation",
        "valueQuantity": {"value": 0.1, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
    }
    ranged = {"resourceType": "Condition", "onsetRange": {"low": {"value": 10}, "high": {"value": 20}}}
    assert _values(observation, "value-quantity") == [
        QuantityValue("value-quantity", Decimal("0.1"), "http://unitsofmeasure.org", "mg", "mg")
    ]
    assert _values(ranged, "onset-age") == []


def test_group_characteristic_value_indexes_codes_and_booleans() -> None:
    group = {
        "resourceType": "Group",
        "characteristic": [
            {"code": {"text": "a"}, "valueCodeableConcept": {"coding": [{"system": "urn:s", "code": "c"}]}},
            {"code": {"text": "b"}, "valueBoolean": True},
            {"code": {"text": "c"}, "valueQuantity": {"value": 3}},
        ],
    }
    assert _values(group, "characteristic-value") == [
        TokenValue("characteristic-value", "urn:s", "c"),
        TokenValue("characteristic-value", None, "true"),
    ]
