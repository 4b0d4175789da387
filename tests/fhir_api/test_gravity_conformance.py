"""Checks of gravity-sdoh-cc.md §8.2 against the running hub over HTTP, on SQLite and PostgreSQL.

Each test is named for the check it automates (T-1 …, SR-1 …); T-9 (who may change what) arrives with access
control.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fhir_api.conftest import SDOHCC, Fhir, example, ids, referral_task

TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
SDOHCC_CODES = f"{SDOHCC}/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
PROCEDURE = "Procedure/SDOHCC-ProcedureFoodPantryApplicationAssistanceExample"
CP_ORG = "Organization/SDOHCC-OrganizationCoordinationPlatformExample"
FOOD_SR = "ServiceRequest/SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"


def _create(fhir: Fhir, task: dict[str, Any]) -> dict[str, Any]:
    response = fhir.post("Task", task)
    assert response.status_code == 201, response.text
    return response.json()


def _transition(fhir: Fhir, task: dict[str, Any], status: str, **changes: Any) -> Any:
    body = dict(task, status=status, **changes)
    return fhir.put(f"Task/{task['id']}", body, if_match=f'W/"{task["meta"]["versionId"]}"')


def _issue_expressions(response: Any) -> list[str]:
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return [expr for issue in outcome["issue"] for expr in issue.get("expression", [])]


def test_cs1_cs2_capability_statement_declares_coordination_platform(ig_fhir: Fhir) -> None:
    response = ig_fhir.get("metadata")
    assert response.status_code == 200
    cs = response.json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    assert cs["instantiates"] == [f"{SDOHCC}/CapabilityStatement/SDOHCC-CoordinationPlatform"]
    rest = cs["rest"][0]
    assert rest["mode"] == "server"
    assert {"batch", "transaction"} <= {i["code"] for i in rest["interaction"]}
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {
        f"{SDOHCC}/StructureDefinition/SDOHCC-TaskForReferralManagement",
        f"{SDOHCC}/StructureDefinition/SDOHCC-TaskForPatient",
    } <= set(by_type["Task"]["supportedProfile"])
    for rtype in (
        "Task",
        "ServiceRequest",
        "Procedure",
        "Consent",
        "Condition",
        "Goal",
        "Observation",
        "Group",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "DocumentReference",
    ):
        interactions = {i["code"] for i in by_type[rtype]["interaction"]}
        assert {"read", "search-type"} <= interactions, rtype
        assert "_id" in {p["name"] for p in by_type[rtype]["searchParam"]}, rtype
    for rtype in ("Task", "Procedure", "DocumentReference"):
        assert {"create", "update"} <= {i["code"] for i in by_type[rtype]["interaction"]}
    task_params = {p["name"] for p in by_type["Task"]["searchParam"]}
    assert {"_id", "code", "patient", "requester", "status", "focus", "owner", "output", "_lastUpdated"} <= task_params
    assert {"Task:focus", "Task:output"} <= set(by_type["Task"]["searchInclude"])
    assert "ServiceRequest:supporting-info" in by_type["ServiceRequest"]["searchInclude"]


def test_t1_valid_referral_task_is_created_with_location_and_etag(fhir: Fhir) -> None:
    response = fhir.post("Task", referral_task())
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"{fhir.base}/Task/{body['id']}/_history/1"
    assert response.headers["ETag"] == 'W/"1"'
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["profile"] == [f"{SDOHCC}/StructureDefinition/SDOHCC-TaskForReferralManagement"]


@pytest.mark.parametrize(
    ("mutation", "expression"),
    [
        ({"focus": None}, "Task.focus"),
        ({"for": None}, "Task.for"),
        ({"requester": None}, "Task.requester"),
        ({"authoredOn": None}, "Task.authoredOn"),
        ({"status": "received"}, "Task.status"),
        ({"status": "ready"}, "Task.status"),
        ({"intent": "plan"}, "Task.intent"),
        ({"code": {"coding": [{"system": TASK_CODE, "code": "approve"}]}}, "Task.code"),
    ],
)
def test_t2_invalid_referral_task_is_refused_with_the_failing_element(
    fhir: Fhir, mutation: dict[str, Any], expression: str
) -> None:
    task = referral_task()
    for key, value in mutation.items():
        if value is None:
            task.pop(key)
        else:
            task[key] = value
    response = fhir.post("Task", task)
    assert response.status_code in (400, 422), response.text
    assert any(e.startswith(expression) for e in _issue_expressions(response)), response.text
    assert fhir.search("Task?_summary=count")["total"] == 0


def test_t3_read_returns_version_metadata_and_etag(fhir: Fhir) -> None:
    created = _create(fhir, referral_task())
    response = fhir.get(f"Task/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"]
    assert response.headers["ETag"] == 'W/"1"'


def test_t3b_conditional_read_answers_304_until_the_task_changes(fhir: Fhir) -> None:
    created = _create(fhir, referral_task())
    first = fhir.get(f"Task/{created['id']}")
    last_modified = first.headers["Last-Modified"]
    assert fhir.get(f"Task/{created['id']}", headers={"If-Modified-Since": last_modified}).status_code == 304
    import time

    time.sleep(1.05)  # HTTP dates have one-second precision
    changed = _transition(fhir, created, "accepted")
    assert changed.status_code == 200, changed.text
    again = fhir.get(f"Task/{created['id']}", headers={"If-Modified-Since": last_modified})
    assert again.status_code == 200
    assert again.json()["status"] == "accepted"


def test_t4_task_searches_by_gravity_parameters_return_only_matches(ig_fhir: Fhir) -> None:
    accepted = "Task/SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample"
    completed = "Task/SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample"
    bundle = ig_fhir.search(
        "Task?_id=SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample,"
        "SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample"
    )
    assert ids(bundle) == {accepted, completed}
    assert bundle["total"] == 2
    assert ig_fhir.search("Task?patient=Patient/pat-53234")["total"] == 8  # every IG Task is for pat-53234
    requester = ig_fhir.search("Task?requester=PractitionerRole/SDOHCC-PractitionerRoleDrJanWaterExample")
    assert ids(requester) == {accepted, completed}
    requested = ig_fhir.search("Task?status=accepted")
    assert accepted in ids(requested)
    assert all(e["resource"]["status"] == "accepted" for e in requested["entry"])
    by_code = ig_fhir.search(f"Task?code={TASK_CODE}|fulfill")
    assert by_code["total"] == 4
    assert all(e["resource"]["code"]["coding"][0]["code"] == "fulfill" for e in by_code["entry"])
    assert ids(ig_fhir.search(f"Task?focus={FOOD_SR}")) == {accepted, completed}
    assert ig_fhir.search("Task?code=fulfill")["total"] == 4
    assert ig_fhir.search("Task?code=|fulfill")["total"] == 0  # coded with a system, so "no system" does not match


def test_t5_owner_polling_with_absolute_urls_last_updated_and_missing(ig_fhir: Fhir) -> None:
    absolute = f"{ig_fhir.base}/{CP_ORG}"
    polled = ig_fhir.search(f"Task?owner={absolute}&_lastUpdated=gt2020-01-01T00:00:00Z")
    relative = ig_fhir.search(f"Task?owner={CP_ORG}")
    assert ids(polled) == ids(relative)
    assert len(ids(polled)) == 2
    assert ig_fhir.search(f"Task?owner={absolute}&_lastUpdated=gt2999-01-01")["total"] == 0
    open_task = referral_task()
    open_task.pop("owner")
    created = _create(ig_fhir, open_task)
    unassigned = ig_fhir.search("Task?owner:missing=true&status=requested")
    assert ids(unassigned) == {f"Task/{created['id']}"}
    assert ids(ig_fhir.search(f"Task?output={PROCEDURE}")) == {
        "Task/SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample"
    }
    # A Task that points at another server's organisation is found by that absolute URL only.
    remote = "https://cbo.example.org/fhir/Organization/9"
    remote_task = _create(ig_fhir, referral_task(owner={"reference": remote}))
    assert ids(ig_fhir.search(f"Task?owner={remote}")) == {f"Task/{remote_task['id']}"}
    assert ig_fhir.search("Task?owner=Organization/9")["total"] == 0


def test_t6_includes_bring_focus_service_request_and_output_procedure(ig_fhir: Fhir) -> None:
    bundle = ig_fhir.search(
        "Task?_id=SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample&_include=Task:focus&_include=Task:output"
    )
    assert ids(bundle) == {"Task/SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample"}
    assert ids(bundle, "include") == {FOOD_SR, PROCEDURE}


def test_t7_owner_moves_task_through_its_lifecycle_with_versions(fhir: Fhir) -> None:
    task = _create(fhir, referral_task())
    for status in ("accepted", "in-progress"):
        response = _transition(fhir, task, status)
        assert response.status_code == 200, response.text
        assert int(response.json()["meta"]["versionId"]) == int(task["meta"]["versionId"]) + 1
        task = response.json()
    output = [
        {
            "type": {"coding": [{"system": SDOHCC_CODES, "code": "resulting-activity"}]},
            "valueReference": {"reference": PROCEDURE},
        }
    ]
    done = _transition(fhir, task, "completed", output=output)
    assert done.status_code == 200, done.text
    assert done.json()["meta"]["versionId"] == "4"
    history = fhir.get(f"Task/{task['id']}/_history").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["completed", "in-progress", "accepted", "requested"]
    assert fhir.get(f"Task/{task['id']}/_history/2").json()["status"] == "accepted"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        (["requested"], "completed"),
        (["requested"], "in-progress"),
        (["requested", "accepted", "in-progress", "completed"], "in-progress"),
        (["requested", "rejected"], "accepted"),
        (["requested", "cancelled"], "requested"),
        (["requested", "cancelled"], "in-progress"),
        (["requested"], "received"),
        (["requested", "accepted"], "ready"),
    ],
)
def test_t8_illegal_transitions_are_refused(fhir: Fhir, path: list[str], illegal: str) -> None:
    task = _create(fhir, referral_task())
    output = [
        {
            "type": {"coding": [{"system": SDOHCC_CODES, "code": "resulting-activity"}]},
            "valueReference": {"reference": PROCEDURE},
        }
    ]
    for status in path[1:]:
        extra: dict[str, Any] = {}
        if status in ("rejected", "cancelled"):
            extra["statusReason"] = {"text": "No capacity this month"}
        if status == "completed":
            extra["output"] = output
        response = _transition(fhir, task, status, **extra)
        assert response.status_code == 200, response.text
        task = response.json()
    refused = _transition(fhir, task, illegal, output=output)
    assert refused.status_code in (409, 422), refused.text
    assert "Task.status" in _issue_expressions(refused)
    assert fhir.get(f"Task/{task['id']}").json()["status"] == path[-1]


def test_t10_rejection_needs_status_reason_text(fhir: Fhir) -> None:
    task = _create(fhir, referral_task())
    without_text = _transition(fhir, task, "rejected", statusReason={"coding": [{"code": "capacity"}]})
    assert without_text.status_code == 422
    assert any(e.startswith("Task.statusReason") for e in _issue_expressions(without_text))
    with_text = _transition(fhir, task, "rejected", statusReason={"text": "We are at capacity"})
    assert with_text.status_code == 200, with_text.text


def test_t11_completion_needs_an_output(fhir: Fhir) -> None:
    task = _create(fhir, referral_task())
    task = _transition(fhir, task, "accepted").json()
    refused = _transition(fhir, task, "completed")
    assert refused.status_code == 422
    assert any(e.startswith("Task.output") for e in _issue_expressions(refused))


def test_t12_stale_if_match_is_refused_with_412(fhir: Fhir) -> None:
    task = _create(fhir, referral_task())
    assert _transition(fhir, task, "accepted").status_code == 200
    stale = fhir.put(f"Task/{task['id']}", dict(task, status="rejected", statusReason={"text": "x"}), if_match='W/"1"')
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert fhir.get(f"Task/{task['id']}").json()["status"] == "accepted"


def test_sr1_service_request_read_and_searches(ig_fhir: Fhir) -> None:
    assert ig_fhir.get(FOOD_SR).status_code == 200
    assert FOOD_SR in ids(ig_fhir.search("ServiceRequest?patient=Patient/pat-53234"))
    food = ig_fhir.search(f"ServiceRequest?category={SDOHCC_CODES}|food-insecurity")
    assert FOOD_SR in ids(food)
    assert ids(ig_fhir.search("ServiceRequest?status=active")) == {FOOD_SR}
    assert FOOD_SR in ids(ig_fhir.search("ServiceRequest?intent=order"))
    assert ids(ig_fhir.search("ServiceRequest?_id=SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample")) == {
        FOOD_SR
    }
    assert FOOD_SR in ids(ig_fhir.search("ServiceRequest?code=http://snomed.info/sct|467771000124109"))
    assert ig_fhir.search("ServiceRequest?intent=filler-order")["total"] == 0


def test_sr2_service_request_includes_consent_patient_requester_performer_goal(fhir: Fhir, app: Any) -> None:
    from tests.fhir_api.conftest import load_examples

    load_examples(app)
    sr = example("ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample")
    sr.update(
        id="sr-with-links",
        requester={"reference": "PractitionerRole/SDOHCC-PractitionerRoleDrJanWaterExample"},
        performer=[{"reference": CP_ORG}],
        supportingInfo=[{"reference": "Consent/SDOHCC-ConsentInformationDisclosureExample"}],
        extension=[
            {
                "url": "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal",
                "valueReference": {"reference": "Goal/SDOHCC-GoalFoodSecurityExample"},
            }
        ],
    )
    sr.pop("meta", None)
    assert fhir.put("ServiceRequest/sr-with-links", sr).status_code == 201
    found = ids(fhir.search("ServiceRequest?supporting-info=Consent/SDOHCC-ConsentInformationDisclosureExample"))
    assert found == {"ServiceRequest/sr-with-links"}
    bundle = fhir.search(
        "ServiceRequest?_id=sr-with-links&_include=ServiceRequest:supporting-info&_include=ServiceRequest:patient"
        "&_include=ServiceRequest:requester&_include=ServiceRequest:performer&_include=ServiceRequest:pertains-to-goal"
    )
    assert ids(bundle, "include") == {
        "Consent/SDOHCC-ConsentInformationDisclosureExample",
        "Patient/pat-53234",
        "PractitionerRole/SDOHCC-PractitionerRoleDrJanWaterExample",
        CP_ORG,
        "Goal/SDOHCC-GoalFoodSecurityExample",
    }


def test_p1_light_cbo_posts_updates_and_finds_procedures(ig_fhir: Fhir) -> None:
    procedure = example("Procedure-SDOHCC-ProcedureFoodPantryApplicationAssistanceExample")
    for key in ("id", "meta", "text"):
        procedure.pop(key)
    created = ig_fhir.post("Procedure", procedure)
    assert created.status_code == 201, created.text
    body = created.json()
    body["note"] = [{"text": "Helped with the pantry application"}]
    assert ig_fhir.put(f"Procedure/{body['id']}", body, if_match='W/"1"').status_code == 200
    for query in (
        f"based-on={FOOD_SR}",
        f"category={SDOHCC_CODES}|food-insecurity",
        "patient=Patient/pat-53234",
        "status=completed",
        f"_id={body['id']}",
    ):
        assert f"Procedure/{body['id']}" in ids(ig_fhir.search(f"Procedure?{query}")), query
    no_date = dict(procedure)
    no_date.pop("performedDateTime", None)
    no_date.pop("performedPeriod", None)
    refused = ig_fhir.post("Procedure", no_date)
    assert refused.status_code == 422
    assert any(e.startswith("Procedure.performed") for e in _issue_expressions(refused))


def test_p1_procedure_search_by_performer(ig_fhir: Fhir) -> None:
    procedure = example("Procedure-SDOHCC-ProcedureFoodPantryApplicationAssistanceExample")
    for key in ("id", "meta", "text"):
        procedure.pop(key)
    procedure["performer"] = [{"actor": {"reference": CP_ORG}}]
    created = ig_fhir.post("Procedure", procedure).json()
    assert ids(ig_fhir.search(f"Procedure?performer={CP_ORG}")) == {f"Procedure/{created['id']}"}


def test_c1_consent_by_source_reference_includes_document(fhir: Fhir) -> None:
    consent = example("Consent-SDOHCC-ConsentInformationDisclosureExample")
    document = example("DocumentReference-DocumentReferenceExample")
    assert fhir.put(f"DocumentReference/{document['id']}", document).status_code == 201
    consent.pop("sourceAttachment", None)
    consent["sourceReference"] = {"reference": f"DocumentReference/{document['id']}"}
    assert fhir.put(f"Consent/{consent['id']}", consent).status_code == 201
    assert fhir.get(f"Consent/{consent['id']}").status_code == 200
    found = fhir.search(f"Consent?source-reference=DocumentReference/{document['id']}")
    assert ids(found) == {f"Consent/{consent['id']}"}
    included = fhir.search(f"Consent?_id={consent['id']}&_include=Consent:source-reference:DocumentReference")
    assert ids(included, "include") == {f"DocumentReference/{document['id']}"}


def test_o1_condition_goal_observation_searches(ig_fhir: Fhir) -> None:
    food_condition = "Condition/SDOHCC-ConditionFoodInsecurityExample"
    sdoh = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh"
    assert food_condition in ids(ig_fhir.search(f"Condition?patient=Patient/pat-53234&category={sdoh}"))
    assert food_condition in ids(ig_fhir.search("Condition?clinical-status=active"))
    assert food_condition in ids(ig_fhir.search("Condition?verification-status=unconfirmed"))
    z594 = ids(ig_fhir.search("Condition?code=http://hl7.org/fhir/sid/icd-10-cm|Z59.4"))
    assert food_condition in z594
    assert "Condition/SDOHCC-ConditionHomelessExample" not in z594
    goal = "Goal/SDOHCC-GoalFoodSecurityExample"
    assert goal in ids(ig_fhir.search(f"Goal?patient=Patient/pat-53234&category={SDOHCC_CODES}|food-insecurity"))
    assert goal in ids(ig_fhir.search("Goal?lifecycle-status=active&achievement-status=improving"))
    assert goal in ids(ig_fhir.search("Goal?target-date=2020-12-10"))
    assert ig_fhir.search("Goal?target-date=gt2021-01-01")["total"] == 0
    q3 = "Observation/SDOHCC-ObservationResponseHungerVitalSignQuestion3Example"
    assert q3 in ids(ig_fhir.search(f"Observation?patient=Patient/pat-53234&category={sdoh}&status=final"))
    assert q3 in ids(ig_fhir.search("Observation?code=http://loinc.org|88124-3"))
    hvs_qr = "QuestionnaireResponse/SDOHCC-QuestionnaireResponseHungerVitalSignExample"
    assert q3 in ids(ig_fhir.search(f"Observation?derived-from={hvs_qr}"))
    effective = ig_fhir.get(q3).json()["effectiveDateTime"][:10]
    assert q3 in ids(ig_fhir.search(f"Observation?date={effective}"))


def test_g1_group_by_code_member_and_include(ig_fhir: Fhir) -> None:
    group = "Group/SDOHCC-GroupSDOHPatientsForPayerExample"
    body = ig_fhir.get(group).json()
    assert ig_fhir.search("Group?member=Patient/pat-53234")["total"] == 0  # the IG example lists no members yet
    body["member"] = [{"entity": {"reference": "Patient/pat-53234"}}]
    body["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "125676002", "display": "Person"}]}
    assert ig_fhir.put(group, body, if_match=f'W/"{body["meta"]["versionId"]}"').status_code == 200
    assert ids(ig_fhir.search("Group?member=Patient/pat-53234")) == {group}
    assert ids(ig_fhir.search(f"Group?_id={group.split('/')[1]}")) == {group}
    assert ids(ig_fhir.search("Group?code=http://snomed.info/sct|125676002")) == {group}
    assert ids(ig_fhir.search(f"Group?characteristic={SDOHCC_CODES}|payer-coverage")) == {group}
    included = ig_fhir.search(f"Group?_id={group.split('/')[1]}&_include=Group:member")
    assert "Patient/pat-53234" in ids(included, "include")


def test_d1_document_reference_create_read_search(fhir: Fhir) -> None:
    document = example("DocumentReference-DocumentReferenceExample")
    for key in ("id", "meta", "text"):
        document.pop(key, None)
    created = fhir.post("DocumentReference", document)
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert fhir.get(f"DocumentReference/{new_id}").status_code == 200
    assert ids(fhir.search(f"DocumentReference?_id={new_id}")) == {f"DocumentReference/{new_id}"}


def test_q1_questionnaire_by_url_and_version_and_response_searches(ig_fhir: Fhir) -> None:
    questionnaire = ig_fhir.get("Questionnaire/SDOHCC-QuestionnaireHungerVitalSign").json()
    found = ig_fhir.search(f"Questionnaire?url={questionnaire['url']}&version={questionnaire['version']}")
    assert ids(found) == {"Questionnaire/SDOHCC-QuestionnaireHungerVitalSign"}
    assert found["total"] == 1
    assert ig_fhir.search(f"Questionnaire?url={questionnaire['url']}&version=0.0.1")["total"] == 0
    qr_id = "QuestionnaireResponse/SDOHCC-QuestionnaireResponseHungerVitalSignExample"
    qr = ig_fhir.get(qr_id).json()
    assert qr_id in ids(ig_fhir.search("QuestionnaireResponse?patient=Patient/pat-53234"))
    assert qr_id in ids(ig_fhir.search(f"QuestionnaireResponse?questionnaire={qr['questionnaire']}"))
    assert qr_id in ids(ig_fhir.search(f"QuestionnaireResponse?status={qr['status']}"))
    practitioner_qr = dict(
        qr, id="qr-authored-by-practitioner", author={"reference": "Practitioner/SDOHCC-PractitionerDrJanWaterExample"}
    )
    practitioner_qr.pop("meta")
    assert ig_fhir.put("QuestionnaireResponse/qr-authored-by-practitioner", practitioner_qr).status_code == 201
    by_author = ids(ig_fhir.search("QuestionnaireResponse?author=Practitioner/SDOHCC-PractitionerDrJanWaterExample"))
    assert by_author == {"QuestionnaireResponse/qr-authored-by-practitioner"}
    new_qr = dict(qr)
    for key in ("id", "meta", "text"):
        new_qr.pop(key, None)
    assert ig_fhir.post("QuestionnaireResponse", new_qr).status_code == 201
