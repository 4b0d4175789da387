"""The screening form: bad input never reaches the store, saved answers come back, the patient's language is used,
submitting stores a completed response whose extraction runs, and everything is audited."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.screening.screening_helpers import (
    AHC,
    HVS,
    all_of,
    audit_rows,
    coding,
    count,
    post_screening,
    questionnaire_url,
    response_id_from,
    stored,
    text_of,
)
from tests.web.hub_testing import Seeded

FOOD_AND_HOUSING = {
    "/71802-3": coding("LA31994-9"),  # has a place but worried about losing it: housing instability
    "/88122-7": coding("LA6729-3"),  # sometimes true: food insecurity
    "/88123-5": coding("LA28398-8"),
    "/93030-5": coding("LA32-8"),
    "/96779-4": coding("LA32-8"),
    "/96778-6": [coding("LA9-3")],
}


def test_answer_outside_the_options_is_a_form_error_and_nothing_is_stored(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    patient = seeded.patients["own"]
    answers = dict(FOOD_AND_HOUSING, **{"/88122-7": coding("LA99999-9")})
    for action in ("save", "submit"):
        response = post_screening(staff, patient, AHC, answers, action)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Choose one of the answers shown." in page
        assert 'data-testid="form-errors"' in page
        # What was typed elsewhere is still selected.
        assert f'value="{coding("LA31994-9")}" checked' in page
    assert count(app, "QuestionnaireResponse") == 0
    assert count(app, "Observation") == 0


def test_text_in_an_integer_question_is_a_form_error_and_nothing_is_stored(
    app: Flask, seeded: Seeded, staff: FlaskClient, kitchen_sink: str
) -> None:
    response = post_screening(staff, seeded.patients["own"], kitchen_sink, {"/age": "forty", "/name": "Sam"}, "save")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Enter a whole number, for example 3." in page
    assert 'value="forty"' in page  # the typed text is shown again, not lost
    assert 'value="Sam"' in page
    assert count(app, "QuestionnaireResponse") == 0


def test_a_tampered_link_id_is_a_form_error_and_nothing_is_stored(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    answers = dict(FOOD_AND_HOUSING, **{"/12345-6": coding("LA33-6")})
    response = post_screening(staff, seeded.patients["own"], AHC, answers, "submit")
    assert response.status_code == 200
    assert "question this questionnaire does not have" in response.get_data(as_text=True)
    # A value posted for the calculated (read-only) item is tampering too.
    response = post_screening(
        staff, seeded.patients["own"], AHC, dict(FOOD_AND_HOUSING, **{"/95614-4": "20"}), "submit"
    )
    assert "question this questionnaire does not have" in response.get_data(as_text=True)
    assert count(app, "QuestionnaireResponse") == 0


def test_an_answer_combination_the_instrument_refuses_is_shown_next_to_the_question_and_nothing_is_stored(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    # "None of the above" with a housing problem: only the instrument's rules know it is exclusive; the store's
    # extraction hook refuses the response (422) and the page shows the issue at the question.
    answers = dict(FOOD_AND_HOUSING, **{"/96778-6": [coding("LA9-3"), coding("LA28580-1")]})
    response = post_screening(staff, seeded.patients["own"], AHC, answers, "submit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    marker = page.index('data-link-id="/96778-6"')
    assert "cannot be combined with others" in page[marker : marker + 3000]
    assert count(app, "QuestionnaireResponse") == 0
    assert count(app, "Observation") == 0


def test_saved_answers_come_back_when_the_screening_is_resumed(app: Flask, seeded: Seeded, staff: FlaskClient) -> None:
    patient = seeded.patients["own"]
    saved = post_screening(
        staff,
        patient,
        AHC,
        {"/88122-7": coding("LA28397-0"), "/96778-6": [coding("LA28580-1"), coding("LA32001-2")]},
        "save",
    )
    assert saved.status_code == 302
    response_id = response_id_from(saved.headers["Location"])
    body = stored(app, "QuestionnaireResponse", response_id)
    assert body["status"] == "in-progress"
    assert body["subject"] == {"reference": f"Patient/{patient}"}
    assert count(app, "Observation") == 0  # nothing is extracted from an unfinished screening

    page = staff.get(f"{questionnaire_url(patient)}?response={response_id}").get_data(as_text=True)
    assert f'value="{coding("LA28397-0")}" checked' in page
    assert f'value="{coding("LA28580-1")}" checked' in page
    assert f'value="{coding("LA32001-2")}" checked' in page
    assert f'name="response" value="{response_id}"' in page
    # The patients' screening list offers to continue it.
    listing = staff.get(f"/screening/patients/{patient}").get_data(as_text=True)
    assert f"response={response_id}" in listing
    assert "Not finished: continue" in listing

    # Saving again updates the same response; submitting completes it and extraction runs once.
    again = post_screening(staff, patient, AHC, dict(FOOD_AND_HOUSING), "save", response=response_id)
    assert response_id_from(again.headers["Location"]) == response_id
    done = post_screening(staff, patient, AHC, dict(FOOD_AND_HOUSING), "submit", response=response_id)
    assert done.status_code == 302
    assert "/findings" in done.headers["Location"]
    assert count(app, "QuestionnaireResponse") == 1
    assert stored(app, "QuestionnaireResponse", response_id)["status"] == "completed"
    assert count(app, "Observation") > 0
    # A submitted screening is not edited in the form: opening it leads to the findings.
    reopened = staff.get(f"{questionnaire_url(patient)}?response={response_id}")
    assert reopened.status_code == 302
    assert "/findings" in reopened.headers["Location"]


def test_questions_left_blank_at_submit_are_recorded_as_declined(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    answers = {"/88122-7": coding("LA28398-8"), "/88123-5": coding("LA28398-8")}
    done = post_screening(staff, seeded.patients["own"], AHC, answers, "submit")
    response_id = response_id_from(done.headers["Location"])
    items = {i["linkId"]: i for i in stored(app, "QuestionnaireResponse", response_id)["item"]}
    assert "answer" not in items["/93030-5"]  # present without an answer: asked, not answered
    assert "/95614-4" not in items  # the calculated total is the scorer's
    absent = [o for o in all_of(app, "Observation") if o.get("dataAbsentReason")]
    assert absent, "declined items become Observations with dataAbsentReason"
    page = text_of(staff.get(done.headers["Location"]).get_data(as_text=True))
    assert "Not answered" in page
    assert "In the past 12 months, has lack of reliable transportation" in page


def test_the_questionnaire_is_shown_in_the_patients_language(app: Flask, seeded: Seeded, staff: FlaskClient) -> None:
    # The seeded patient prefers Spanish; the staff page itself stays in the staff member's language.
    page = staff.get(f"{questionnaire_url(seeded.patients['own'])}?instrument={HVS}").get_data(as_text=True)
    assert "nos preocupaba que la comida se nos acabara" in page
    assert "Con frecuencia es cierto" in page
    assert 'lang="es"' in page
    assert "Submit screening" in page
    done = post_screening(staff, seeded.patients["own"], HVS, {"/88122-7": coding("LA28397-0")}, "submit")
    response_id = response_id_from(done.headers["Location"])
    assert stored(app, "QuestionnaireResponse", response_id)["language"] == "es"


def test_required_questions_must_be_answered_to_submit_but_not_to_save(
    app: Flask, seeded: Seeded, staff: FlaskClient, kitchen_sink: str
) -> None:
    patient = seeded.patients["own"]
    refused = post_screening(staff, patient, kitchen_sink, {"/food": coding("no", "urn:test")}, "submit")
    assert refused.status_code == 200
    assert "Answer this question before submitting." in refused.get_data(as_text=True)
    assert count(app, "QuestionnaireResponse") == 0
    saved = post_screening(staff, patient, kitchen_sink, {"/food": coding("no", "urn:test")}, "save")
    assert saved.status_code == 302


def test_every_item_type_round_trips_through_the_store(
    app: Flask, seeded: Seeded, staff: FlaskClient, kitchen_sink: str
) -> None:
    answers = {
        "/age": "42",
        "/height": "1.75",
        "/moved": "2021-06-30",
        "/ok": "true",
        "/name": "Sam",
        "/notes": "Line one\nLine two",
        "/food": coding("yes", "urn:test"),
        "/help-other": "Rides to the pantry",
        "/needs": [coding("rent", "urn:test"), coding("care", "urn:test")],
    }
    done = post_screening(staff, seeded.patients["own"], kitchen_sink, answers, "submit")
    assert done.status_code == 302, text_of(done.get_data(as_text=True))[:800]
    qr = stored(app, "QuestionnaireResponse", response_id_from(done.headers["Location"]))
    flat = {}
    for item in qr["item"]:
        flat[item["linkId"]] = item
        for child in item.get("item", []):
            flat[child["linkId"]] = child
    assert flat["/age"]["answer"] == [{"valueInteger": 42}]
    assert flat["/height"]["answer"] == [{"valueDecimal": 1.75}]
    assert flat["/moved"]["answer"] == [{"valueDate": "2021-06-30"}]
    assert flat["/ok"]["answer"] == [{"valueBoolean": True}]
    assert flat["/notes"]["answer"] == [{"valueString": "Line one\nLine two"}]
    assert flat["/help"]["answer"] == [{"valueString": "Rides to the pantry"}]
    assert [a["valueCoding"]["code"] for a in flat["/needs"]["answer"]] == ["rent", "care"]
    assert "/total" not in flat
    page = text_of(staff.get(done.headers["Location"]).get_data(as_text=True))
    assert "Food: not always enough to eat" in page


def test_answers_to_questions_hidden_by_enable_when_are_not_stored(
    app: Flask, seeded: Seeded, staff: FlaskClient, kitchen_sink: str
) -> None:
    # /help shows only when food ran out; /needs only for adults or when /ok is answered (enableBehavior any).
    answers = {
        "/age": "12",
        "/food": coding("no", "urn:test"),
        "/help": 'valueString:"Benefits"',
        "/needs": [coding("rent", "urn:test")],
    }
    done = post_screening(staff, seeded.patients["own"], kitchen_sink, answers, "submit")
    assert done.status_code == 302
    qr = stored(app, "QuestionnaireResponse", response_id_from(done.headers["Location"]))
    assert {i["linkId"] for i in qr["item"]} == {"/about", "/food"}


def test_submitting_writes_audit_rows_for_the_response_and_its_observations(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    patient = seeded.patients["own"]
    done = post_screening(staff, patient, AHC, dict(FOOD_AND_HOUSING), "submit")
    response_id = response_id_from(done.headers["Location"])
    created = audit_rows(app, action="C", resource_type="QuestionnaireResponse", resource_id=response_id)
    assert len(created) == 1
    assert created[0]["patient_ref"] == f"Patient/{patient}"
    assert created[0]["principal_id"] == str(seeded.accounts["clinic_staff"].user_id)
    assert len(audit_rows(app, action="C", resource_type="Observation")) == count(app, "Observation")
    staff.get(done.headers["Location"])
    reads = audit_rows(app, event_type="ui", action="R", resource_type="QuestionnaireResponse", resource_id=response_id)
    assert reads
    assert reads[0]["patient_ref"] == f"Patient/{patient}"
    assert audit_rows(app, event_type="ui", action="R", resource_type="Condition")


def test_an_open_choice_takes_an_option_or_a_typed_answer_not_both(
    app: Flask, seeded: Seeded, staff: FlaskClient, kitchen_sink: str
) -> None:
    answers = {
        "/age": "30",
        "/food": coding("yes", "urn:test"),
        "/help": 'valueString:"Food bank"',
        "/help-other": "Rides",
    }
    response = post_screening(staff, seeded.patients["own"], kitchen_sink, answers, "submit")
    assert response.status_code == 200
    assert "Choose an answer or type another one, not both." in response.get_data(as_text=True)
    assert count(app, "QuestionnaireResponse") == 0
    answers.pop("/help-other")
    done = post_screening(staff, seeded.patients["own"], kitchen_sink, answers, "submit")
    qr = stored(app, "QuestionnaireResponse", response_id_from(done.headers["Location"]))
    assert next(i for i in qr["item"] if i["linkId"] == "/help")["answer"] == [{"valueString": "Food bank"}]
