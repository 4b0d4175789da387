"""Extraction to Gravity SDOHCC resources: IG example parity, profile elements, R4 validity, determinism."""

from __future__ import annotations

import json
from typing import Any

import pytest

from questionnaires import Extraction, Instrument, extract, resource_id
from tests.questionnaires.questionnaire_helpers import DECLINED, IG_EXAMPLES, build_qr, read_json, validate_r4

OSR_PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ObservationScreeningResponse"
CONDITION_PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Condition"
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
SURVEY = ("http://terminology.hl7.org/CodeSystem/observation-category", "survey")
SDOH = ("http://hl7.org/fhir/us/core/CodeSystem/us-core-category", "sdoh")
HEALTH_CONCERN = ("http://hl7.org/fhir/us/core/CodeSystem/condition-category", "health-concern")
POS = ("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "POS")

CORE_ALL_POSITIVE = {
    "/71802-3": "LA31995-6",
    "/96778-6": ["LA31996-4", "LA28580-1", "LA32001-2"],
    "/88122-7": "LA28397-0",
    "/88123-5": "LA6729-3",
    "/93030-5": "LA33-6",
    "/96779-4": "LA32002-0",
    "/95618-5": "LA10082-8",
    "/95617-7": "LA10082-8",
    "/95616-9": "LA10082-8",
    "/95615-1": "LA10066-1",
}
CORE_ALL_NEGATIVE = {
    "/71802-3": "LA31993-1",
    "/96778-6": "LA9-3",
    "/88122-7": "LA28398-8",
    "/88123-5": "LA28398-8",
    "/93030-5": "LA32-8",
    "/96779-4": "LA32-8",
    **{li: "LA6270-8" for li in ("/95618-5", "/95617-7", "/95616-9", "/95615-1")},
}
SUPPLEMENTAL_ALL_POSITIVE = {
    "/76513-1": "LA15832-1",
    "/96780-2": "LA31981-6",
    "/96781-0": "LA31979-0",
    "/93159-2": "LA9933-8",
    "/97027-7": "LA33-6",
    "/96782-8": "LA33-6",
    "/89555-7": "LA6112-2",
    "/68516-4": "LA28855-7",
    "/68517-2": "LA18891-4",
    "/96842-0": "LA18934-2",
    "/95530-2": "LA26460-8",
    "/68524-8": "LA18876-5",
    "/44250-9": "LA6571-9",
    "/44255-8": "LA6570-1",
    "/93038-8": "LA13914-9",
    "/69858-9": "LA33-6",
    "/69861-3": "LA33-6",
}


def codes(concepts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for concept in concepts for c in concept["coding"]}


def by_code(extraction: Extraction, code: str) -> list[dict[str, Any]]:
    return [
        r for r in extraction.resources if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == code
    ]


def assert_profile_elements(extraction: Extraction, qr: dict[str, Any]) -> None:
    """The SDOHCC OSR / Condition required and must-support elements (gravity-sdoh-cc.md §4.6, §4.8)."""
    ids = {f"{r['resourceType']}/{r['id']}" for r in extraction.resources}
    qr_ref = f"QuestionnaireResponse/{qr['id']}"
    for resource in extraction.resources:
        validate_r4(resource)
        assert resource["subject"] == {"reference": qr["subject"]["reference"]}
        if resource["resourceType"] == "Observation":
            assert resource["meta"]["profile"] == [OSR_PROFILE]
            assert resource["status"] == "final"
            assert {SURVEY, SDOH} <= codes(resource["category"])
            assert resource["effectiveDateTime"] == qr["authored"]
            assert resource["code"]["coding"][0]["system"] == "http://loinc.org"
            assert resource["derivedFrom"][0] == {"reference": qr_ref}  # assess-2
            has_value = any(k.startswith("value") for k in resource)
            if "hasMember" in resource:
                assert not has_value
                assert "dataAbsentReason" not in resource
                assert all(m["reference"] in ids for m in resource["hasMember"])
            else:
                assert has_value != ("dataAbsentReason" in resource)
            if "interpretation" in resource:
                assert codes(resource["interpretation"]) == {POS}
                assert has_value
            for ref in resource["derivedFrom"][1:]:
                assert ref["reference"] in ids
        else:
            assert resource["resourceType"] == "Condition"
            assert resource["meta"]["profile"] == [CONDITION_PROFILE]
            assert {HEALTH_CONCERN, SDOH} <= codes(resource["category"])
            assert len(resource["category"]) >= 3  # plus the SDOHCC domain
            assert resource["clinicalStatus"]["coding"][0]["code"] == "active"
            assert resource["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
            assert resource["code"]["coding"]
            assert resource["onsetPeriod"] == {"start": qr["authored"]}
            details = [d["reference"] for e in resource["evidence"] for d in e["detail"]]
            assert details
            assert all(d in ids for d in details)


def test_ig_hunger_vital_sign_response_yields_the_ig_risk_observation(hvs: Instrument, ig_hvs_response: dict) -> None:
    ig = read_json(IG_EXAMPLES / "Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example.json")
    extraction = extract(ig_hvs_response, hvs)
    [ours] = by_code(extraction, "88124-3")
    assert ours["code"]["coding"] == ig["code"]["coding"]
    assert ours["valueCodeableConcept"] == ig["valueCodeableConcept"]
    assert codes(ours["category"]) == codes(ig["category"])
    assert codes(ours["interpretation"]) == codes(ig["interpretation"])
    assert ours["derivedFrom"][0] == ig["derivedFrom"][0]
    for name in ("status", "subject", "effectiveDateTime", "issued", "meta"):
        assert ours[name] == ig[name], name
    # Derived answers carry no performer (profile guidance); the IG example sets one (spec §9 item 6).
    assert "performer" not in ours


def test_ig_hunger_vital_sign_response_yields_item_observations_like_the_ig(
    hvs: Instrument, ig_hvs_response: dict
) -> None:
    ig_item = read_json(IG_EXAMPLES / "Observation-SDOHCC-ObservationResponseHungerVitalSignQuestion3Example.json")
    extraction = extract(ig_hvs_response, hvs)
    for link_id in ("/88122-7", "/88123-5"):
        [obs] = by_code(extraction, link_id[1:])
        assert obs["valueCodeableConcept"]["coding"] == [
            {"system": "http://loinc.org", "code": "LA28397-0", "display": "Often true"}
        ]
        assert codes(obs["category"]) == codes(ig_item["category"])  # survey + sdoh + food-insecurity
        assert codes(obs["interpretation"]) == {POS}
        assert obs["derivedFrom"] == ig_item["derivedFrom"]
        assert obs["performer"] == [{"reference": "Patient/pat-53234"}]


def test_ig_hunger_vital_sign_response_proposes_the_ig_food_insecurity_concern(
    hvs: Instrument, ig_hvs_response: dict
) -> None:
    ig = read_json(IG_EXAMPLES / "Condition-SDOHCC-ConditionFoodInsecurityExample.json")
    extraction = extract(ig_hvs_response, hvs)
    [condition] = [r for r in extraction.resources if r["resourceType"] == "Condition"]
    assert codes(condition["category"]) == codes(ig["category"])
    assert condition["clinicalStatus"] == ig["clinicalStatus"]
    assert condition["verificationStatus"] == ig["verificationStatus"]
    assert condition["code"]["coding"][0] == ig["code"]["coding"][0]  # SNOMED 733423003
    # ICD-10-CM: the IG's Z59.4 is a header since FY2023; we send the current Z59.41 (spec §9 item 2).
    assert condition["code"]["coding"][1]["code"] == "Z59.41"
    [risk] = by_code(extraction, "88124-3")
    assert {"reference": f"Observation/{risk['id']}"} in condition["evidence"][0]["detail"]
    assert_profile_elements(extraction, ig_hvs_response)


@pytest.mark.parametrize(
    ("instrument_name", "answers"),
    [
        ("core", CORE_ALL_POSITIVE),
        ("core", CORE_ALL_NEGATIVE),
        ("core", {"/71802-3": DECLINED, "/95618-5": "LA6482-9"}),
        ("supplemental", SUPPLEMENTAL_ALL_POSITIVE),
        ("hvs", {"/88122-7": "LA15775-2", "/88123-5": "LA15775-2"}),
    ],
    ids=["core-positive", "core-negative", "core-declined", "supplemental-positive", "hvs-refused"],
)
def test_every_produced_resource_is_valid_r4_with_profile_elements(
    request: pytest.FixtureRequest, instrument_name: str, answers: dict
) -> None:
    instrument = request.getfixturevalue(instrument_name)
    qr = build_qr(instrument, answers)
    extraction = extract(qr, instrument, asserter="Device/referral-hub-screening-rules")
    assert extraction.resources
    assert_profile_elements(extraction, qr)
    validate_r4(extraction.transaction_bundle())


def test_core_positive_screen_produces_items_total_panel_and_concerns(core: Instrument) -> None:
    extraction = extract(build_qr(core, CORE_ALL_POSITIVE), core)
    findings = extraction.findings
    assert findings.positive_domains == (
        "homelessness",
        "inadequate-housing",
        "food-insecurity",
        "transportation-insecurity",
        "utility-insecurity",
        "interpersonal-safety",
    )
    # one Observation per selected answer of the multi-select item, each POS
    problems = by_code(extraction, "96778-6")
    assert [o["valueCodeableConcept"]["coding"][0]["code"] for o in problems] == CORE_ALL_POSITIVE["/96778-6"]
    assert all(codes(o["interpretation"]) == {POS} for o in problems)
    # 71802-3 carries both housing categories whatever the answer (IG example 2)
    [housing] = by_code(extraction, "71802-3")
    assert {(SDOHCC, "homelessness"), (SDOHCC, "housing-instability")} <= codes(housing["category"])
    [total] = by_code(extraction, "95614-4")
    assert total["valueInteger"] == 11
    assert codes(total["interpretation"]) == {POS}
    assert "performer" not in total
    assert len(total["derivedFrom"]) == 5  # the QR and the four HITS item Observations
    [panel] = by_code(extraction, "96777-8")
    assert len(panel["hasMember"]) == len(extraction.resources) - 1 - 5  # all but itself and 5 Conditions
    conditions = {r["code"]["coding"][0]["code"]: r for r in extraction.resources if r["resourceType"] == "Condition"}
    assert set(conditions) == {"32911000", "105531004", "733423003", "713458007", "Z59.12"}
    food = conditions["733423003"]
    assert len(food["evidence"][0]["detail"]) == 2  # both positive food items


def test_negative_answers_carry_no_interpretation_and_propose_nothing(core: Instrument) -> None:
    extraction = extract(build_qr(core, CORE_ALL_NEGATIVE), core)
    assert extraction.findings.positive_domains == ()
    assert not any("interpretation" in r for r in extraction.resources)
    assert not any(r["resourceType"] == "Condition" for r in extraction.resources)
    [total] = by_code(extraction, "95614-4")
    assert total["valueInteger"] == 4  # all Never = 4, as in the US Core example


def test_declined_item_becomes_data_absent_observation(core: Instrument) -> None:
    dar = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
    not_asked = {"linkId": "/93030-5", "extension": [{"url": dar, "valueCode": "not-asked"}]}
    qr = build_qr(core, {"/71802-3": DECLINED})
    qr["item"].append(not_asked)
    extraction = extract(qr, core)
    [declined] = by_code(extraction, "71802-3")
    assert declined["dataAbsentReason"]["coding"][0]["code"] == "asked-declined"
    assert "interpretation" not in declined
    assert "valueCodeableConcept" not in declined
    [skipped] = by_code(extraction, "93030-5")
    assert skipped["dataAbsentReason"]["coding"][0]["code"] == "not-asked"
    assert extraction.findings.declined == ("/71802-3", "/93030-5")


def test_incomplete_safety_items_produce_no_total(core: Instrument) -> None:
    extraction = extract(build_qr(core, {"/95618-5": "LA6482-9", "/95617-7": "LA6482-9"}), core)
    assert by_code(extraction, "95614-4") == []
    assert extraction.findings.incomplete_scores == ("safety-total",)


def test_physical_activity_positive_flags_both_items_without_a_derived_observation(supplemental: Instrument) -> None:
    extraction = extract(build_qr(supplemental, {"/89555-7": "LA6112-2", "/68516-4": "LA28855-7"}), supplemental)
    assert extraction.findings.scores["weekly-activity-minutes"].value == 30
    for code in ("89555-7", "68516-4"):
        [obs] = by_code(extraction, code)
        assert codes(obs["interpretation"]) == {POS}
    assert not any(r["resourceType"] == "Condition" for r in extraction.resources)


def test_extraction_is_deterministic_and_ids_derive_from_the_response(core: Instrument) -> None:
    qr = build_qr(core, CORE_ALL_POSITIVE)
    first = json.dumps(extract(qr, core).resources, sort_keys=True)
    assert first == json.dumps(extract(json.loads(json.dumps(qr)), core).resources, sort_keys=True)
    resources = extract(qr, core).resources
    assert len({r["id"] for r in resources}) == len(resources)
    [housing] = by_code(extract(qr, core), "71802-3")
    assert housing["id"] == resource_id("qr-1", "/71802-3")
    other = {r["id"] for r in extract(build_qr(core, CORE_ALL_POSITIVE, id="qr-2"), core).resources}
    assert other.isdisjoint({r["id"] for r in resources})


def test_amended_response_keeps_the_ids_of_unchanged_items(core: Instrument) -> None:
    before = extract(build_qr(core, CORE_ALL_POSITIVE), core)
    changed = dict(CORE_ALL_POSITIVE, **{"/93030-5": "LA32-8"})
    after = extract(build_qr(core, changed, status="amended"), core)
    [old], [new] = by_code(before, "93030-5"), by_code(after, "93030-5")
    assert old["id"] == new["id"]
    assert "interpretation" not in new


def test_response_language_is_recorded_on_observations(core: Instrument) -> None:
    extraction = extract(build_qr(core, {"/88122-7": "LA6729-3"}, language="es"), core)
    assert {r.get("language") for r in extraction.resources if r["resourceType"] == "Observation"} == {"es"}


def test_answer_display_comes_from_the_questionnaire_not_the_client(core: Instrument) -> None:
    answer = {"valueCoding": {"system": "http://loinc.org", "code": "LA33-6", "display": "yep"}}
    [obs] = by_code(extract(build_qr(core, {"/93030-5": answer}), core), "93030-5")
    assert obs["valueCodeableConcept"]["coding"][0]["display"] == "Yes"


def test_extraction_does_not_share_state_with_the_instrument(core: Instrument) -> None:
    before = json.dumps(core.questionnaire, sort_keys=True)
    extraction = extract(build_qr(core, CORE_ALL_POSITIVE), core)

    def scribble(node: Any) -> None:  # mutate every nested dict/list a caller could touch
        children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
        for child in children:
            scribble(child)
        if isinstance(node, dict):
            node.clear()
            node["scribbled"] = True
        elif isinstance(node, list):
            node.append("scribbled")

    scribble(extraction.resources)
    assert json.dumps(core.questionnaire, sort_keys=True) == before
    assert extract(build_qr(core, CORE_ALL_POSITIVE), core).resources[0]["code"]["coding"]


@pytest.mark.parametrize("instrument_name", ["core", "supplemental", "hvs"])
def test_every_answer_option_extracts_to_valid_profiled_resources(
    request: pytest.FixtureRequest, instrument_name: str
) -> None:
    instrument: Instrument = request.getfixturevalue(instrument_name)
    checked = 0
    for link_id, item in instrument.items.items():
        if item.read_only or item.enable_when:
            continue
        for key in item.options:
            qr = build_qr(instrument, {link_id: key[2]})
            extraction = extract(qr, instrument)
            assert_profile_elements(extraction, qr)
            [obs] = by_code(extraction, link_id[1:])
            assert obs["valueCodeableConcept"]["coding"][0]["code"] == key[2]
            checked += 1
    assert checked >= {"core": 37, "supplemental": 63, "hvs": 8}[instrument_name]
