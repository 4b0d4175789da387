"""Registering and finding patients, and who may open the screening pages (clinic staff of the patient's clinic)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.screening.screening_helpers import (
    HVS,
    all_of,
    audit_rows,
    coding,
    count,
    csrf,
    post_screening,
    questionnaire_url,
    response_id_from,
)
from tests.web.hub_testing import Seeded, login

REGISTER = "/screening/patients/new"


def _register(client: FlaskClient, **fields: str) -> object:
    data = {
        "given": "Ana",
        "family": "Reyes",
        "birth_date": "1990-05-17",
        "gender": "female",
        "language": "es",
        "phone": "(555) 010-2233",
        "email": "ana@example.org",
        "line": "12 Elm St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
    }
    data.update(fields)
    data["csrf_token"] = csrf(client, REGISTER)
    return client.post(REGISTER, data=data)


def test_registering_stores_a_us_core_patient_the_clinic_sees_in_its_patient_list(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    response = _register(staff)
    assert response.status_code == 302
    patient_id = response.headers["Location"].rsplit("/", 1)[1]
    (patient,) = [p for p in all_of(app, "Patient") if p["id"] == patient_id]
    assert patient["meta"]["profile"] == ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]
    assert patient["name"] == [{"use": "official", "family": "Reyes", "given": ["Ana"]}]
    assert patient["birthDate"] == "1990-05-17"
    assert patient["gender"] == "female"
    assert patient["identifier"][0]["system"] == "urn:referral-hub:patient"
    assert patient["communication"][0]["language"]["coding"][0]["code"] == "es"
    assert {t["system"] for t in patient["telecom"]} == {"phone", "email"}
    assert patient["address"][0]["postalCode"] == "62701"
    from fhir.resources.R4B.patient import Patient

    Patient.model_validate(patient)
    # The clinic's compartment: the shell's patient list and page show it (the policy module decides).
    assert f"/patients/{patient_id}" in staff.get("/patients?q=Reyes").get_data(as_text=True)
    page = staff.get(f"/screening/patients/{patient_id}").get_data(as_text=True)
    assert "Ana Reyes" in page
    assert "Spanish" in page
    created = audit_rows(app, action="C", resource_type="Patient", resource_id=patient_id)
    assert len(created) == 1


def test_same_name_and_birth_date_is_warned_about_before_registering_again(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    assert _register(staff).status_code == 302
    before = count(app, "Patient")
    warned = _register(staff, given="ana", family="REYES", phone="555 999 0000")
    assert warned.status_code == 200
    page = warned.get_data(as_text=True)
    assert 'data-testid="duplicate-warning"' in page
    assert 'value="555 999 0000"' in page  # the form keeps what was typed
    assert count(app, "Patient") == before
    confirmed = _register(staff, given="ana", family="REYES", confirm_new="y")
    assert confirmed.status_code == 302
    assert count(app, "Patient") == before + 1


def test_another_clinics_patient_with_the_same_name_is_not_revealed(
    app: Flask, seeded: Seeded, staff: FlaskClient
) -> None:
    # The seeded "other" patient (Maria Okafor, 1980-02-03) belongs to another clinic.
    response = _register(staff, given="Maria", family="Okafor", birth_date="1980-02-03")
    assert response.status_code == 302


def test_registration_errors_are_shown_next_to_the_fields(app: Flask, seeded: Seeded, staff: FlaskClient) -> None:
    before = count(app, "Patient")
    response = _register(staff, given="", birth_date="2999-01-01", postal_code="12", email="not-an-email")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('class="usa-error-message"') >= 4
    assert "The date of birth cannot be in the future." in page
    assert count(app, "Patient") == before


def test_other_clinics_staff_get_404_for_the_patient_and_its_screenings(
    app: Flask, seeded: Seeded, staff: FlaskClient, other_clinic_staff: FlaskClient
) -> None:
    patient = seeded.patients["own"]
    done = post_screening(staff, patient, HVS, {"/88122-7": coding("LA28397-0")}, "submit")
    response_id = response_id_from(done.headers["Location"])
    for path in (
        f"/screening/patients/{patient}",
        f"{questionnaire_url(patient)}?instrument={HVS}",
        f"{questionnaire_url(patient)}?response={response_id}",
        f"/screening/patients/{patient}/findings?response={response_id}",
        f"/screening/patients/{patient}/findings",
    ):
        assert other_clinic_staff.get(path).status_code == 404, path
    # Their own patient's URL with our screening's id does not reveal it either.
    own = seeded.patients["other"]
    assert other_clinic_staff.get(f"/screening/patients/{own}").status_code == 200
    assert other_clinic_staff.get(f"/screening/patients/{own}/findings?response={response_id}").status_code == 404
    # Nor can they write: a screening, a decision on our concern.
    before = count(app, "QuestionnaireResponse")
    refused = post_screening(other_clinic_staff, patient, HVS, {"/88122-7": coding("LA28397-0")}, "submit")
    assert refused.status_code == 404
    (condition,) = all_of(app, "Condition")
    token = csrf(other_clinic_staff, f"/screening/patients/{own}")
    decision = other_clinic_staff.post(
        f"/screening/patients/{patient}/concerns",
        data={"csrf_token": token, "condition_id": condition["id"], "decision": "dismiss"},
    )
    assert decision.status_code == 404
    sneaky = other_clinic_staff.post(
        f"/screening/patients/{own}/concerns",
        data={"csrf_token": token, "condition_id": condition["id"], "decision": "dismiss"},
    )
    assert sneaky.status_code == 404
    assert count(app, "QuestionnaireResponse") == before
    assert all_of(app, "Condition")[0]["meta"]["versionId"] == "1"


@pytest.mark.parametrize("role", ["cbo_staff", "cbo_admin", "program_manager", "admin"])
def test_only_clinic_staff_may_screen(app: Flask, seeded: Seeded, role: str) -> None:
    client = app.test_client()
    login(app, client, seeded.accounts[role])
    patient = seeded.patients["own"]
    for path in (REGISTER, f"/screening/patients/{patient}", f"{questionnaire_url(patient)}?instrument={HVS}"):
        assert client.get(path).status_code == 403, path
    anonymous = app.test_client()
    response = anonymous.get(f"/screening/patients/{patient}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_screening_pages_audit_the_patient_reads(app: Flask, seeded: Seeded, staff: FlaskClient) -> None:
    patient = seeded.patients["own"]
    staff.get(f"/screening/patients/{patient}")
    reads = audit_rows(app, event_type="ui", action="R", resource_type="Patient", resource_id=patient)
    assert len(reads) == 1
    assert reads[0]["principal_id"] == str(seeded.accounts["clinic_staff"].user_id)
    searches = audit_rows(app, event_type="ui", action="E", resource_type="QuestionnaireResponse")
    assert [row["patient_ref"] for row in searches] == [f"Patient/{patient}"]
