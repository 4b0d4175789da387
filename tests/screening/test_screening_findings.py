"""The findings page: positive domains in plain language, scores, and staff decisions on each health concern
(confirm → confirmed + problem-list-item, dismiss → refuted) and SDOHCC Goals, all written through the store."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient

from tests.screening.screening_helpers import (
    AHC,
    HVS,
    all_of,
    audit_rows,
    coding,
    count,
    csrf,
    post_screening,
    response_id_from,
    stored,
    text_of,
)
from tests.web.hub_testing import Seeded

FOOD_AND_HOUSING = {
    "/71802-3": coding("LA31994-9"),
    "/88122-7": coding("LA6729-3"),
    "/88123-5": coding("LA28398-8"),
    "/93030-5": coding("LA32-8"),
    "/96779-4": coding("LA32-8"),
    "/96778-6": [coding("LA9-3")],
    "/95618-5": coding("LA6270-8"),
    "/95617-7": coding("LA6270-8"),
    "/95616-9": coding("LA6270-8"),
    "/95615-1": coding("LA6270-8"),
}


def _submit(staff: FlaskClient, patient: str, instrument: str, answers: dict) -> str:
    done = post_screening(staff, patient, instrument, answers, "submit")
    assert done.status_code == 302, text_of(done.get_data(as_text=True))[:500]
    return done.headers["Location"]


def _conditions(app: Flask) -> dict[str, dict]:
    return {c["id"]: c for c in all_of(app, "Condition")}


def _codes(concept: dict, system: str | None = None) -> set[str]:
    return {c["code"] for c in concept.get("coding", []) if system is None or c.get("system") == system}


def test_food_and_housing_answers_show_those_domains_and_the_safety_score(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    findings = staff.get(_submit(staff, seeded.patients["own"], AHC, FOOD_AND_HOUSING))
    page = findings.get_data(as_text=True)
    assert set(re.findall(r'data-domain="([^"]+)"', page)) == {"food-insecurity", "housing-instability"}
    text = text_of(page)
    assert "Food: not always enough to eat" in text
    assert "Housing: at risk of losing their home" in text
    assert "Total score" in text or "Safety total score" in text
    assert "Not yet reviewed" in text
    assert len(_conditions(app)) == 2


def test_findings_are_shown_in_spanish_to_spanish_speaking_staff(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    location = _submit(staff, seeded.patients["own"], HVS, {"/88122-7": coding("LA28397-0")})
    staff.set_cookie("hub_lang", "es")
    text = text_of(staff.get(location).get_data(as_text=True))
    assert "Comida: no siempre hay suficiente para comer" in text
    assert "Con frecuencia es cierto" in text


def test_confirming_a_concern_marks_it_confirmed_on_the_problem_list(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    patient = seeded.patients["own"]
    location = _submit(staff, patient, HVS, {"/88122-7": coding("LA28397-0")})
    (condition_id,) = _conditions(app)
    token = csrf(staff, location)
    response = staff.post(
        f"/screening/patients/{patient}/concerns",
        data={
            "csrf_token": token,
            "condition_id": condition_id,
            "decision": "confirm",
            "response": response_id_from(location),
        },
    )
    assert response.status_code == 302
    condition = stored(app, "Condition", condition_id)
    assert _codes(condition["verificationStatus"]) == {"confirmed"}
    kinds = {c["code"] for cat in condition["category"] for c in cat["coding"]}
    assert "problem-list-item" in kinds
    assert "health-concern" not in kinds
    assert {"sdoh", "food-insecurity"} <= kinds  # SDOH-Con-2/-3 still hold
    assert condition["meta"]["versionId"] == "2"
    updated = audit_rows(app, action="U", resource_type="Condition", resource_id=condition_id)
    assert len(updated) == 1
    assert "Confirmed with the patient" in text_of(staff.get(location).get_data(as_text=True))


def test_dismissing_a_concern_refutes_it_with_the_note(app: Flask, seeded: Seeded, staff: FlaskClient) -> None:
    patient = seeded.patients["own"]
    location = _submit(staff, patient, HVS, {"/88122-7": coding("LA28397-0")})
    (condition_id,) = _conditions(app)
    staff.post(
        f"/screening/patients/{patient}/concerns",
        data={
            "csrf_token": csrf(staff, location),
            "condition_id": condition_id,
            "decision": "dismiss",
            "reason": "Has SNAP since last month",
        },
    )
    condition = stored(app, "Condition", condition_id)
    assert _codes(condition["verificationStatus"]) == {"refuted"}
    assert _codes(condition["clinicalStatus"]) == {"inactive"}
    assert condition["note"] == [{"text": "Has SNAP since last month"}]


def test_a_decision_without_a_choice_is_a_form_error_and_changes_nothing(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    patient = seeded.patients["own"]
    location = _submit(staff, patient, HVS, {"/88122-7": coding("LA28397-0")})
    (condition_id,) = _conditions(app)
    response = staff.post(
        f"/screening/patients/{patient}/concerns",
        data={
            "csrf_token": csrf(staff, location),
            "condition_id": condition_id,
            "reason": "typed note",
            "response": response_id_from(location),
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Choose confirm or dismiss." in page
    assert "typed note" in page  # nothing typed is lost
    assert stored(app, "Condition", condition_id)["meta"]["versionId"] == "1"


def test_recording_a_goal_stores_an_sdohcc_goal_addressing_the_concern(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    patient = seeded.patients["own"]
    location = _submit(staff, patient, HVS, {"/88122-7": coding("LA28397-0")})
    (condition_id,) = _conditions(app)
    due = (date.today() + timedelta(days=90)).isoformat()
    response = staff.post(
        f"/screening/patients/{patient}/goals",
        data={
            "csrf_token": csrf(staff, location),
            "condition_id": condition_id,
            "goal": "food-security",
            "due_date": due,
            "response": response_id_from(location),
        },
    )
    assert response.status_code == 302
    (goal,) = all_of(app, "Goal")
    assert goal["lifecycleStatus"] == "active"
    assert goal["meta"]["profile"] == ["http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Goal"]
    assert goal["addresses"] == [{"reference": f"Condition/{condition_id}"}]
    assert goal["subject"] == {"reference": f"Patient/{patient}"}
    assert goal["description"]["coding"][0]["code"] == "1078229009"
    assert _codes(goal["category"][0]) == {"food-insecurity"}
    assert goal["target"] == [{"dueDate": due}]
    assert goal["startDate"] == date.today().isoformat()
    from fhir.resources.R4B.goal import Goal

    Goal.model_validate(goal)
    assert "Has enough food (food security)" in text_of(staff.get(location).get_data(as_text=True))


def test_a_goal_outside_the_list_or_in_the_past_is_a_form_error(app: Flask, seeded: Seeded, staff: FlaskClient) -> None:
    patient = seeded.patients["own"]
    location = _submit(staff, patient, HVS, {"/88122-7": coding("LA28397-0")})
    (condition_id,) = _conditions(app)
    for goal, due in (("world-peace", ""), ("food-security", "2001-01-01")):
        response = staff.post(
            f"/screening/patients/{patient}/goals",
            data={"csrf_token": csrf(staff, location), "condition_id": condition_id, "goal": goal, "due_date": due},
        )
        assert response.status_code == 200
        assert 'class="usa-error-message"' in response.get_data(as_text=True)
    assert count(app, "Goal") == 0


def test_without_a_response_the_findings_page_shows_the_latest_submitted_screening(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    patient = seeded.patients["own"]
    assert "No submitted screening yet." in staff.get(f"/screening/patients/{patient}/findings").get_data(as_text=True)
    _submit(staff, patient, HVS, {"/88122-7": coding("LA28397-0")})
    page = staff.get(f"/screening/patients/{patient}/findings").get_data(as_text=True)
    assert 'data-domain="food-insecurity"' in page
