"""Issue 4 in the hub: storing a completed QuestionnaireResponse extracts Observations and Conditions once."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import REPO_ROOT
from tests.fhir_api.conftest import Fhir, example

HVS_QR = "QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample"
SDC_TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"


@pytest.fixture
def screening_fhir(app: Flask, fhir: Fhir) -> Fhir:
    """A live hub with the shipped instruments stored and the IG patient present."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["questionnaires", "sync"])
    assert result.exit_code == 0, result.output
    patient = example("Patient-pat-53234")
    assert fhir.put("Patient/pat-53234", patient).status_code in (200, 201)
    return fhir


def _hvs_response(qr_id: str = "qr-hvs-1") -> dict[str, Any]:
    qr = copy.deepcopy(example(HVS_QR))
    for key in ("meta", "text"):
        qr.pop(key, None)
    qr["id"] = qr_id
    return qr


def _derived(fhir: Fhir, qr_id: str) -> dict[str, dict[str, Any]]:
    bundle = fhir.search(f"Observation?derived-from=QuestionnaireResponse/{qr_id}&_count=100")
    return {e["resource"]["id"]: e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"}


def test_storing_a_completed_response_extracts_item_and_risk_observations_and_a_concern(screening_fhir: Fhir) -> None:
    response = screening_fhir.put("QuestionnaireResponse/qr-hvs-1", _hvs_response())
    assert response.status_code == 201, response.text
    observations = _derived(screening_fhir, "qr-hvs-1")
    codes = {o["code"]["coding"][0]["code"] for o in observations.values()}
    assert {"88122-7", "88123-5", "88124-3"} <= codes
    risk = next(o for o in observations.values() if o["code"]["coding"][0]["code"] == "88124-3")
    assert risk["valueCodeableConcept"]["coding"][0]["code"] == "LA19952-3"
    assert risk["subject"]["reference"] == "Patient/pat-53234"
    conditions = screening_fhir.search("Condition?patient=Patient/pat-53234&verification-status=unconfirmed")
    assert any(
        c["resource"]["category"][-1]["coding"][0]["code"] == "food-insecurity" for c in conditions.get("entry", [])
    )


def test_resubmitting_or_updating_the_same_response_never_duplicates(screening_fhir: Fhir) -> None:
    qr = _hvs_response()
    screening_fhir.put("QuestionnaireResponse/qr-hvs-1", qr)
    first = _derived(screening_fhir, "qr-hvs-1")
    again = screening_fhir.put("QuestionnaireResponse/qr-hvs-1", qr)
    assert again.status_code == 200
    second = _derived(screening_fhir, "qr-hvs-1")
    assert second.keys() == first.keys()
    assert {k: v["meta"]["versionId"] for k, v in second.items()} == {
        k: v["meta"]["versionId"] for k, v in first.items()
    }


def test_an_amended_response_retires_observations_it_no_longer_yields(screening_fhir: Fhir) -> None:
    qr = _hvs_response()
    screening_fhir.put("QuestionnaireResponse/qr-hvs-1", qr)
    before = _derived(screening_fhir, "qr-hvs-1")
    amended = dict(qr, status="amended")
    never = {"system": "http://loinc.org", "code": "LA28398-8", "display": "Never true"}
    amended["item"] = [
        dict(item, answer=[{"valueCoding": never}]) if item["linkId"] in ("/88122-7", "/88123-5") else item
        for item in qr["item"]
        if item["linkId"] != "/88124-3"
    ]
    response = screening_fhir.put("QuestionnaireResponse/qr-hvs-1", amended)
    assert response.status_code == 200, response.text
    after = _derived(screening_fhir, "qr-hvs-1")
    risk = [o for o in after.values() if o["code"]["coding"][0]["code"] == "88124-3"]
    assert risk
    assert risk[0]["valueCodeableConcept"]["coding"][0]["code"] == "LA19983-8"  # no risk now
    retired = [o for o in after.values() if o["status"] == "entered-in-error"]
    assert {o["id"] for o in retired} <= set(before)


def test_an_amended_response_without_an_item_retires_exactly_that_items_observation(screening_fhir: Fhir) -> None:
    qr = _hvs_response()
    screening_fhir.put("QuestionnaireResponse/qr-hvs-1", qr)
    before = _derived(screening_fhir, "qr-hvs-1")
    dropped = {oid for oid, o in before.items() if o["code"]["coding"][0]["code"] == "88123-5"}
    assert dropped
    amended = dict(qr, status="amended", item=[item for item in qr["item"] if item["linkId"] != "/88123-5"])
    response = screening_fhir.put("QuestionnaireResponse/qr-hvs-1", amended)
    assert response.status_code == 200, response.text
    after = _derived(screening_fhir, "qr-hvs-1")
    assert {oid for oid, o in after.items() if o["status"] == "entered-in-error"} == dropped
    # Submitting the amendment again leaves the retired Observation as it is (no new version).
    assert screening_fhir.put("QuestionnaireResponse/qr-hvs-1", amended).status_code == 200
    again = _derived(screening_fhir, "qr-hvs-1")
    assert {oid: o["meta"]["versionId"] for oid, o in again.items()} == {
        oid: o["meta"]["versionId"] for oid, o in after.items()
    }


def test_an_answer_outside_the_value_set_is_refused_and_nothing_is_stored(screening_fhir: Fhir) -> None:
    qr = _hvs_response("qr-bad")
    qr["item"][0]["answer"] = [{"valueCoding": {"system": "http://loinc.org", "code": "LA33-6", "display": "Yes"}}]
    response = screening_fhir.put("QuestionnaireResponse/qr-bad", qr)
    assert response.status_code == 422
    expressions = [e for issue in response.json()["issue"] for e in issue.get("expression", [])]
    assert any("item" in e for e in expressions)
    assert screening_fhir.get("QuestionnaireResponse/qr-bad").status_code == 404
    assert _derived(screening_fhir, "qr-bad") == {}


def test_a_response_to_an_unknown_questionnaire_is_refused(screening_fhir: Fhir) -> None:
    qr = _hvs_response("qr-unknown")
    qr["questionnaire"] = "https://example.org/Questionnaire/never-heard-of-it"
    response = screening_fhir.put("QuestionnaireResponse/qr-unknown", qr)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["QuestionnaireResponse.questionnaire"]


def _patient_task(qr_ref: str, patient: str = "Patient/pat-53234") -> dict[str, Any]:
    task = copy.deepcopy(example("Task-SDOHCC-TaskPatientRiskQuestionnaireCompletedExample"))
    for key in ("id", "meta", "text"):
        task.pop(key, None)
    task["for"] = {"reference": patient}
    task["owner"] = {"reference": patient}
    task["output"] = [
        {
            "type": {"coding": [{"system": SDC_TEMP, "code": "questionnaire-response"}]},
            "valueReference": {"reference": qr_ref},
        }
    ]
    return task


def test_completing_a_patient_questionnaire_task_extracts_its_response(screening_fhir: Fhir) -> None:
    qr = _hvs_response("qr-from-task")
    qr["status"] = "in-progress"  # the patient app saves as it goes; extraction waits for completion
    assert screening_fhir.put("QuestionnaireResponse/qr-from-task", qr).status_code == 201
    assert _derived(screening_fhir, "qr-from-task") == {}
    qr["status"] = "completed"
    task = _patient_task("QuestionnaireResponse/qr-from-task")
    ready = dict(task, status="ready")
    ready.pop("output")
    created = screening_fhir.post("Task", ready)
    assert created.status_code == 201, created.text
    body = created.json()
    assert screening_fhir.put("QuestionnaireResponse/qr-from-task", dict(qr, status="completed")).status_code == 200
    done = dict(task, id=body["id"], status="completed")
    response = screening_fhir.put(f"Task/{body['id']}", done, if_match=f'W/"{body["meta"]["versionId"]}"')
    assert response.status_code == 200, response.text
    assert len(_derived(screening_fhir, "qr-from-task")) >= 3


def test_a_patient_task_cannot_close_with_another_patients_response(screening_fhir: Fhir) -> None:
    other = example("Patient-pat-53234")
    other["id"] = "someone-else"
    screening_fhir.put("Patient/someone-else", other)
    qr = _hvs_response("qr-other")
    qr["subject"] = {"reference": "Patient/someone-else"}
    assert screening_fhir.put("QuestionnaireResponse/qr-other", qr).status_code == 201
    task = _patient_task("QuestionnaireResponse/qr-other")
    ready = dict(task, status="ready")
    ready.pop("output")
    body = screening_fhir.post("Task", ready).json()
    response = screening_fhir.put(
        f"Task/{body['id']}", dict(task, id=body["id"], status="completed"), if_match=f'W/"{body["meta"]["versionId"]}"'
    )
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Task.output[0].valueReference"]


def test_questionnaire_url_and_version_find_exactly_one_after_repeated_syncs(app: Flask, screening_fhir: Fhir) -> None:
    from questionnaires import list_instruments

    assert app.test_cli_runner().invoke(args=["questionnaires", "sync"]).exit_code == 0
    for instrument in list_instruments():
        found = screening_fhir.search(f"Questionnaire?url={instrument.url}&version={instrument.version}")
        assert found["total"] == 1, instrument.url


def test_loading_an_instrument_with_a_broken_rule_file_reports_and_stores_nothing(app: Flask, tmp_path: Path) -> None:
    from questionnaires import list_instruments

    instrument = list_instruments()[0]
    questionnaire = tmp_path / "q.json"
    questionnaire.write_text(json.dumps(dict(instrument.questionnaire, url="https://example.org/Questionnaire/mine")))
    rules = tmp_path / "rules.yaml"
    rules.write_text("instrument: [not, a, mapping\n")
    result = app.test_cli_runner().invoke(args=["questionnaires", "load", str(questionnaire), "--rules", str(rules)])
    assert result.exit_code != 0
    assert "not loaded" in result.output


def test_instrument_for_picks_the_customer_instrument_of_that_url_and_version(app: Flask, tmp_path: Path) -> None:
    """A loaded instrument answers its own url (any or its version) and replaces a shipped one of the same
    url|version; other canonicals still find the shipped instruments."""
    from questionnaires import get_instrument, list_instruments
    from referral_hub.extensions import db
    from referral_hub.fhir.store import ResourceStore
    from referral_hub.screening.instruments import instrument_for, load_custom_instrument

    shipped = get_instrument("https://referral-hub.example.org/fhir/Questionnaire/ahc-hrsn-core")
    rules = REPO_ROOT / "questionnaires" / "rules" / "ahc-hrsn-core.yaml"
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps(dict(shipped.questionnaire, url="https://example.org/Questionnaire/mine")))
    mine_rules = tmp_path / "mine.yaml"
    mine_rules.write_text(rules.read_text().replace(shipped.url, "https://example.org/Questionnaire/mine"))
    same = tmp_path / "same.json"
    same.write_text(json.dumps(dict(shipped.questionnaire, title="Customer copy")))
    with app.app_context():
        store = ResourceStore(db.session, (app.config["FHIR_BASE_URL"],))
        load_custom_instrument(db.session, store, mine, mine_rules)
        load_custom_instrument(db.session, store, same, rules)
        db.session.commit()
        found = instrument_for(db.session, "https://example.org/Questionnaire/mine")
        assert found is not None
        assert found.url == "https://example.org/Questionnaire/mine"
        versioned = instrument_for(db.session, f"{shipped.url}|{shipped.version}")
        assert versioned is not None
        assert versioned.title == "Customer copy"
        assert instrument_for(db.session, f"{shipped.url}|no-such-version") is None
        assert instrument_for(db.session, "https://example.org/Questionnaire/unknown") is None
        for other in list_instruments():
            if other.url != shipped.url:
                assert instrument_for(db.session, other.canonical) == other
        db.session.remove()
