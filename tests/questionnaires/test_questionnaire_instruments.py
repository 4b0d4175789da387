"""The shipped instruments: FHIR validity, round trip, exact text, translations, calculations and licences."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import fhirpathpy
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhirpathpy.models import models

import questionnaires
from questionnaires import Instrument, InstrumentNotFound, score
from tests.questionnaires.questionnaire_helpers import (
    CORE_URL,
    HVS_URL,
    SOURCES,
    SUPPLEMENTAL_URL,
    build_qr,
    read_json,
)

PACKAGE = Path(str(resources.files("questionnaires")))
SHIPPED_JSON = sorted((PACKAGE / "instruments").glob("*.json"))
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
TRANSLATION_STATUS = "https://referral-hub.example.org/fhir/StructureDefinition/translation-status"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"


def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for item in items for x in [item, *walk(item.get("item", []))]]


def spanish(element: dict[str, Any] | None) -> str | None:
    for ext in (element or {}).get("extension", []):
        if ext["url"] == TRANSLATION:
            parts = {e["url"]: e.get("valueCode", e.get("valueString")) for e in ext["extension"]}
            if parts["lang"] == "es":
                return parts["content"]
    return None


def test_the_three_instruments_are_shipped() -> None:
    shipped = {i.key: i for i in questionnaires.list_instruments()}
    assert set(shipped) == {"ahc-hrsn-core", "ahc-hrsn-supplemental", "hunger-vital-sign"}
    assert [p.stem for p in SHIPPED_JSON] == sorted(shipped)
    assert {i.questionnaire["code"][0]["code"] for i in shipped.values()} == {"96777-8", "97023-6", "88121-9"}


def test_instruments_are_found_by_canonical() -> None:
    assert questionnaires.get_instrument(f"{CORE_URL}|1.0.0").key == "ahc-hrsn-core"
    assert questionnaires.get_instrument(HVS_URL, "2.3.0").key == "hunger-vital-sign"
    with pytest.raises(InstrumentNotFound):
        questionnaires.get_instrument(CORE_URL, "9.9.9")
    with pytest.raises(InstrumentNotFound):
        questionnaires.get_instrument("http://example.org/Questionnaire/PRAPARE")


@pytest.mark.parametrize("path", SHIPPED_JSON, ids=lambda p: p.stem)
def test_shipped_json_round_trips_through_r4_models(path: Path) -> None:
    model = get_fhir_model_class("Questionnaire")
    original = json.loads(path.read_text(encoding="utf-8"))
    dumped = json.loads(model.model_validate(original).model_dump_json(exclude_none=True))
    again = model.model_validate(dumped)
    assert [i.linkId for i in walk_model(again.item)] == [i["linkId"] for i in walk(original["item"])]
    assert [i["text"] for i in walk(dumped["item"])] == [i.get("text") for i in walk(original["item"])]
    assert spanish(dumped["item"][0].get("_text")) == spanish(original["item"][0]["_text"])


def walk_model(items: list[Any] | None) -> list[Any]:
    return [x for item in items or [] for x in [item, *walk_model(item.item)]]


@pytest.mark.parametrize(
    ("url", "source"),
    [
        (CORE_URL, "uscore-historical-QuestionnaireResponse-AHC-HRSN-core-example.json"),
        (SUPPLEMENTAL_URL, "uscore-historical-QuestionnaireResponse-AHC-HRSN-supplemental-example.json"),
        (HVS_URL, "sdohcc-QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample.json"),
    ],
)
def test_item_text_is_verbatim_from_the_source_responses(url: str, source: str) -> None:
    instrument = questionnaires.get_instrument(url)
    texts = {i["linkId"]: i["text"] for i in walk(instrument.questionnaire["item"])}
    expected = {i["linkId"]: i["text"] for i in read_json(SOURCES / source)["item"]}
    expected.pop("/95614-4", None)  # US Core calls the calculated total "Safety total score" too
    for link_id, text in expected.items():
        assert texts[link_id] == text, link_id


def test_core_has_all_ten_items_multiselect_and_calculated_total(core: Instrument) -> None:
    items = core.questionnaire["item"]
    questions = [i for i in items if not i.get("readOnly")]
    assert len(questions) == 10
    assert all(i["code"][0]["system"] == "http://loinc.org" for i in items)
    assert [i["linkId"] for i in items if i.get("repeats")] == ["/96778-6"]
    [total] = [i for i in items if i.get("readOnly")]
    assert (total["linkId"], total["type"]) == ("/95614-4", "integer")
    assert any(e["url"] == CALCULATED for e in total["extension"])


def test_supplemental_has_all_seventeen_items_and_phq2_total(supplemental: Instrument) -> None:
    items = supplemental.questionnaire["item"]
    assert len([i for i in items if not i.get("readOnly")]) == 17
    assert [i["linkId"] for i in items if i.get("readOnly")] == ["/55758-7"]


@pytest.mark.parametrize("url", [CORE_URL, SUPPLEMENTAL_URL, HVS_URL])
def test_every_text_and_answer_has_a_spanish_translation_marked_pending_review(url: str) -> None:
    q = questionnaires.get_instrument(url).questionnaire
    assert spanish(q.get("_title"))
    for item in walk(q["item"]):
        assert spanish(item.get("_text")), item["linkId"]
        for option in item.get("answerOption", []):
            coding = option["valueCoding"]
            if not coding["display"].isdigit():  # "0".."7" days need no translation
                assert spanish(coding.get("_display")), (item["linkId"], coding["code"])
    [status] = [e for e in q["extension"] if e["url"] == TRANSLATION_STATUS]
    parts = {e["url"]: e.get("valueCode", e.get("valueString")) for e in status["extension"]}
    assert parts["lang"] == "es"
    assert parts["status"] == "community-pending-review"
    assert "pending official review" in parts["note"]
    assert questionnaires.get_instrument(url).languages() == ["en", "es"]


def _evaluate_calculated(instrument: Instrument, link_id: str, qr: dict[str, Any]) -> list[Any]:
    """Run the Questionnaire's own FHIRPath (root then item variables, then calculatedExpression)."""
    item = instrument.items[link_id]
    raw = next(i for i in walk(instrument.questionnaire["item"]) if i["linkId"] == item.link_id)
    env: dict[str, Any] = {"questionnaire": instrument.questionnaire, "resource": qr}
    model = models["r4"]
    for ext in [*instrument.questionnaire.get("extension", []), *raw["extension"]]:
        if ext["url"] == VARIABLE:
            env[ext["valueExpression"]["name"]] = fhirpathpy.evaluate(
                qr, ext["valueExpression"]["expression"], env, model
            )
    [calc] = [e for e in raw["extension"] if e["url"] == CALCULATED]
    return fhirpathpy.evaluate(qr, calc["valueExpression"]["expression"], env, model)


HITS = ["LA6270-8", "LA10066-1", "LA10082-8", "LA16644-9", "LA6482-9"]


@pytest.mark.parametrize("answers", [*itertools.product(HITS, repeat=2), ("LA6482-9", None)])
def test_safety_calculated_expression_agrees_with_scoring(core: Instrument, answers: tuple) -> None:
    # vary two items over all answers with the other two fixed; plus one incomplete case
    given = dict(zip(["/95618-5", "/95617-7"], answers, strict=True))
    given.update({"/95616-9": "LA10082-8", "/95615-1": "LA16644-9"})
    qr = build_qr(core, {k: v for k, v in given.items() if v})
    result = score(qr, core).scores["safety-total"]
    calculated = _evaluate_calculated(core, "/95614-4", qr)
    assert calculated == ([Decimal(result.value)] if result.complete else [])


@pytest.mark.parametrize("answers", list(itertools.product(["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"], repeat=2)))
def test_phq2_calculated_expression_agrees_with_scoring(supplemental: Instrument, answers: tuple) -> None:
    qr = build_qr(supplemental, dict(zip(["/44250-9", "/44255-8"], answers, strict=True)))
    assert _evaluate_calculated(supplemental, "/55758-7", qr) == [
        Decimal(score(qr, supplemental).scores["phq2-total"].value)
    ]


@pytest.mark.parametrize(
    "answers", list(itertools.product(["LA28397-0", "LA6729-3", "LA28398-8", "LA15775-2", None], repeat=2))
)
def test_hvs_calculated_expression_agrees_with_scoring(hvs: Instrument, answers: tuple) -> None:
    qr = build_qr(hvs, {k: v for k, v in zip(["/88122-7", "/88123-5"], answers, strict=True) if v})
    calculated = [c["code"] for c in _evaluate_calculated(hvs, "/88124-3", qr)]
    result = score(qr, hvs).scores["hvs-risk"].result
    assert calculated == ([result] if result else [])


def test_notice_carries_the_required_licence_notes() -> None:
    notice = (PACKAGE / "NOTICE.md").read_text(encoding="utf-8")
    assert "This material contains content from LOINC (http://loinc.org)" in notice
    assert (
        "Regenstrief Institute, Inc. and the Logical Observation Identifiers Names and Codes (LOINC) Committee"
        in notice
    )
    assert "http://loinc.org/license" in notice
    assert "community translation pending official review" in notice
    assert "Hager" in notice
    assert "Centers for Medicare & Medicaid Services" in notice
    assert (PACKAGE / "README.md").is_file()


def test_no_prapare_content_is_shipped() -> None:
    # PRAPARE is NACHC-proprietary (spec §4.4): no panel code, no PRAPARE-only answers, no wording.
    prapare_markers = ["93025-5", "LA30189-7", "LA30190-5", "LA30133-5", "NACHC", "PRAPARE"]
    for path in [*SHIPPED_JSON, *(PACKAGE / "rules").glob("*.yaml"), *(PACKAGE / "terminology").glob("*.yaml")]:
        text = path.read_text(encoding="utf-8")
        for marker in prapare_markers:
            assert marker not in text, (path.name, marker)
