"""REST semantics beyond the Gravity checks: errors, concurrency, bundles, paging, search modifiers."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

from referral_hub.fhir.outcomes import FhirError
from tests.fhir_api.conftest import FHIR_JSON, Fhir, example, ids, referral_task

SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"


def _patient(name: str = "Rivera", given: str = "José", birth: str = "1980-04-02", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": name, "given": [given]}],
        "birthDate": birth,
        "gender": "female",
        **extra,
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("POST", "Task", "{", {"Content-Type": FHIR_JSON}, 400),
        ("POST", "Task", "[1, 2]", {"Content-Type": FHIR_JSON}, 400),
        ("POST", "Task", "{}", {"Content-Type": "text/plain"}, 415),
        ("POST", "Task", '{"resourceType": "Patient"}', {"Content-Type": FHIR_JSON}, 400),
        ("DELETE", "Task/abc", None, {}, 405),
        ("PATCH", "Task/abc", "{}", {"Content-Type": FHIR_JSON}, 405),
        ("GET", "Task/does-not-exist", None, {}, 404),
        ("GET", "Task/does-not-exist/_history/1", None, {}, 404),
        ("GET", "Spaceship", None, {}, 404),
        ("GET", "Task", None, {"Accept": "application/fhir+xml"}, 406),
        ("GET", "Task?_count=lots", None, {}, 400),
        ("GET", "Task?authored-on=yesterday", None, {}, 400),
        ("GET", "Task?_sort=priority", None, {}, 400),
        ("GET", "Task?_cursor=%%%", None, {}, 400),
        ("GET", "Task?_include=Task:nothing", None, {}, 400),
        ("PUT", "Task/abc", '{"resourceType": "Task", "id": "other"}', {"Content-Type": FHIR_JSON}, 400),
        (
            "PUT",
            "Task/abc",
            '{"resourceType": "Task", "id": "abc"}',
            {"Content-Type": FHIR_JSON, "If-Match": "xx"},
            400,
        ),
        ("POST", "Patient", '{"resourceType": "Patient", "birthDate": "not a date"}', {"Content-Type": FHIR_JSON}, 400),
        ("POST", "Patient", '{"resourceType": "Patient", "gender": 5}', {"Content-Type": FHIR_JSON}, 400),
        ("POST", "", '{"resourceType": "Bundle", "type": "collection"}', {"Content-Type": FHIR_JSON}, 400),
    ],
)
def test_bad_requests_get_an_operation_outcome_with_the_right_status(
    fhir: Fhir, method: str, path: str, body: str | None, headers: dict[str, str], status: int
) -> None:
    response = fhir.http.request(method, fhir.url(path), data=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] in ("error", "fatal")


def test_structural_errors_name_the_failing_element(fhir: Fhir) -> None:
    response = fhir.post("Patient", {"resourceType": "Patient", "birthDate": "02/04/1980"})
    assert response.status_code == 400
    assert "Patient.birthDate" in json.dumps(response.json())


def test_update_as_create_keeps_the_client_id_then_updates(fhir: Fhir) -> None:
    patient = _patient(id="client-chosen-1")
    created = fhir.put("Patient/client-chosen-1", patient)
    assert created.status_code == 201
    assert created.json()["id"] == "client-chosen-1"
    updated = fhir.put("Patient/client-chosen-1", dict(patient, gender="male"))
    assert updated.status_code == 200
    assert updated.json()["meta"]["versionId"] == "2"


def test_prefer_return_minimal_sends_no_body(fhir: Fhir) -> None:
    response = fhir.post("Patient", _patient(), headers={"Prefer": "return=minimal"})
    assert response.status_code == 201
    assert response.text == ""
    assert response.headers["Location"].startswith(f"{fhir.base}/Patient/")


def _race(url: str, bodies: list[dict[str, Any]], version: str, authorization: str) -> list[int]:
    """PUT every body at once (released together by a barrier) with the same If-Match; return the statuses."""
    results: list[int] = []
    barrier = threading.Barrier(len(bodies))

    def attempt(body: dict[str, Any]) -> None:
        barrier.wait()
        response = requests.put(
            url,
            data=json.dumps(body),
            headers={"Content-Type": FHIR_JSON, "If-Match": f'W/"{version}"', "Authorization": authorization},
            timeout=60,
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_concurrent_if_match_updates_let_exactly_one_win_per_version(fhir: Fhir) -> None:
    task = fhir.post("Task", referral_task()).json()
    rounds = 3
    for round_number in range(rounds):
        current = fhir.get(f"Task/{task['id']}").json()
        bodies = [dict(current, note=[{"text": f"round {round_number} writer {n}"}]) for n in range(20)]
        results = _race(
            f"{fhir.base}/Task/{task['id']}", bodies, current["meta"]["versionId"], fhir.http.headers["Authorization"]
        )
        assert sorted(results) == [200] + [412] * 19, results
    history = fhir.get(f"Task/{task['id']}/_history").json()
    assert history["total"] == 1 + rounds
    notes = [e["resource"]["note"][0]["text"] for e in history["entry"][:-1]]
    assert [n.split(" writer")[0] for n in notes] == [f"round {r}" for r in reversed(range(rounds))]
    assert fhir.get(f"Task/{task['id']}").json()["meta"]["versionId"] == str(1 + rounds)


def test_transaction_resolves_urn_uuid_references_and_is_atomic(fhir: Fhir) -> None:
    service_request = example("ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample")
    for key in ("id", "meta", "text"):
        service_request.pop(key)
    task = referral_task(focus={"reference": "urn:uuid:3f0c1e8e-0000-4000-8000-000000000001"})
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:3f0c1e8e-0000-4000-8000-000000000002",
                "resource": task,
                "request": {"method": "POST", "url": "Task"},
            },
            {
                "fullUrl": "urn:uuid:3f0c1e8e-0000-4000-8000-000000000001",
                "resource": service_request,
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
        ],
    }
    response = fhir.post("", bundle)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    task_location, sr_location = (e["response"]["location"] for e in result["entry"])
    assert task_location.startswith("Task/")
    assert sr_location.startswith("ServiceRequest/")
    stored_task = fhir.get(task_location.split("/_history")[0]).json()
    assert stored_task["focus"]["reference"] == sr_location.split("/_history")[0]
    assert ids(fhir.search(f"Task?focus={sr_location.split('/_history')[0]}")) == {task_location.split("/_history")[0]}

    bad = json.loads(json.dumps(bundle))
    bad["entry"][0]["resource"]["status"] = "received"
    refused = fhir.post("", bad)
    assert refused.status_code in (409, 422)
    assert any(
        expr.startswith("Bundle.entry[0]") for issue in refused.json()["issue"] for expr in issue.get("expression", [])
    )
    assert fhir.search("ServiceRequest?_summary=count")["total"] == 1  # the failed transaction stored nothing


def test_batch_reports_each_entry_and_keeps_the_good_ones(fhir: Fhir) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": _patient(), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {"resourceType": "Patient", "gender": "sometimes"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": "Patient?family=rivera"}},
        ],
    }
    response = fhir.post("", bundle)
    assert response.status_code == 200
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("201")
    assert statuses[1].startswith("4")
    assert statuses[2].startswith("200")
    assert response.json()["entry"][2]["resource"]["total"] == 1


def test_paging_is_stable_while_others_write(fhir: Fhir) -> None:
    created = [fhir.post("Patient", _patient(name=f"Page{n:02d}")).json()["id"] for n in range(9)]
    seen: list[str] = []
    page = fhir.search("Patient?_count=4")
    assert page["total"] == 9
    while True:
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        # another client writes between page requests: new resources and updates to seen ones
        fhir.post("Patient", _patient(name="Latecomer"))
        first = fhir.get(f"Patient/{seen[0]}").json()
        fhir.put(f"Patient/{seen[0]}", dict(first, gender="other"))
        next_links = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not next_links:
            break
        page = fhir.search(next_links[0])
    originals = [s for s in seen if s in created]
    assert originals == created  # every original exactly once, in order, nothing skipped
    assert len(seen) == len(set(seen))


def test_previous_link_returns_the_earlier_page(fhir: Fhir) -> None:
    for n in range(5):
        fhir.post("Patient", _patient(name=f"Prev{n}"))
    first = fhir.search("Patient?_count=2&_sort=-_lastUpdated")
    second = fhir.search(next(link["url"] for link in first["link"] if link["relation"] == "next"))
    back = fhir.search(next(link["url"] for link in second["link"] if link["relation"] == "previous"))
    assert [e["resource"]["id"] for e in back["entry"]] == [e["resource"]["id"] for e in first["entry"]]
    stamps = [e["resource"]["meta"]["lastUpdated"] for e in first["entry"] + second["entry"]]
    assert stamps == sorted(stamps, reverse=True)


def test_string_search_modifiers_and_accents(fhir: Fhir) -> None:
    jose = fhir.post("Patient", _patient(name="Núñez", given="José")).json()["id"]
    other = fhir.post("Patient", _patient(name="Nunezberg", given="Ana")).json()["id"]
    assert ids(fhir.search("Patient?family=nunez")) == {f"Patient/{jose}", f"Patient/{other}"}
    assert ids(fhir.search("Patient?family:exact=Núñez")) == {f"Patient/{jose}"}
    assert ids(fhir.search("Patient?family:exact=nunez")) == set()
    assert ids(fhir.search("Patient?given:contains=os")) == {f"Patient/{jose}"}
    assert ids(fhir.search("Patient?name=jose")) == {f"Patient/{jose}"}


def test_date_prefixes_follow_fhir_range_semantics(fhir: Fhir) -> None:
    old = fhir.post("Patient", _patient(birth="1950-06-01")).json()["id"]
    young = fhir.post("Patient", _patient(birth="2001-01-15")).json()["id"]
    assert ids(fhir.search("Patient?birthdate=1950")) == {f"Patient/{old}"}
    assert ids(fhir.search("Patient?birthdate=lt1960-01-01")) == {f"Patient/{old}"}
    assert ids(fhir.search("Patient?birthdate=ge2001-01-15")) == {f"Patient/{young}"}
    assert ids(fhir.search("Patient?birthdate=gt2001-01")) == set()
    assert ids(fhir.search("Patient?birthdate=ne1950-06-01")) == {f"Patient/{young}"}
    assert ids(fhir.search("Patient?birthdate=ge1950&birthdate=le1999")) == {f"Patient/{old}"}


def test_unknown_parameters_are_ignored_and_reported_unless_strict(fhir: Fhir) -> None:
    fhir.post("Patient", _patient())
    lenient = fhir.search("Patient?shoe-size=42")
    assert lenient["total"] == 1
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert "shoe-size" in json.dumps(outcome)
    assert all("shoe-size" not in link["url"] for link in lenient["link"])
    strict = fhir.get("Patient?shoe-size=42", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400


def test_total_none_and_summary_count(fhir: Fhir) -> None:
    for _ in range(3):
        fhir.post("Patient", _patient())
    assert "total" not in fhir.search("Patient?_total=none")
    counted = fhir.search("Patient?_summary=count")
    assert counted["total"] == 3
    assert "entry" not in counted


def test_revinclude_brings_tasks_that_focus_on_a_service_request(ig_fhir: Fhir) -> None:
    sr = "ServiceRequest/SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample"
    bundle = ig_fhir.search(f"ServiceRequest?_id={sr.split('/')[1]}&_revinclude=Task:focus")
    assert ids(bundle, "include") == {
        "Task/SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample",
        "Task/SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample",
    }


def test_include_iterate_follows_service_request_to_its_consent(ig_fhir: Fhir) -> None:
    sr = example("ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample")
    sr["supportingInfo"] = [{"reference": "Consent/SDOHCC-ConsentInformationDisclosureExample"}]
    sr.pop("meta")
    assert ig_fhir.put(f"ServiceRequest/{sr['id']}", sr).status_code == 200
    bundle = ig_fhir.search(
        "Task?_id=SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample"
        "&_include=Task:focus&_include:iterate=ServiceRequest:supporting-info"
    )
    assert "Consent/SDOHCC-ConsentInformationDisclosureExample" in ids(bundle, "include")


def test_health_and_readiness(fhir: Fhir, live_server: Any) -> None:
    assert requests.get(f"{live_server.url}/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(f"{live_server.url}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.headers["X-Request-ID"]


def test_reads_and_searches_skip_the_transaction_round_trips_on_postgresql(
    app: Any, fhir: Fhir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GETs write nothing but their audit rows (one statement), so on PostgreSQL they run in autocommit: no
    BEGIN/COMMIT round trips. Writes keep their transaction."""
    from sqlalchemy import event

    from referral_hub.extensions import db

    with app.app_context():
        engine = db.engine
    postgres = engine.dialect.name == "postgresql"  # SQLite runs in-process: no round trips to save, no autocommit
    created = fhir.post("Patient", _patient())
    assert created.status_code == 201
    patient_id = created.json()["id"]
    seen: list[tuple[str, bool]] = []

    if postgres:
        # At the driver: the store sends its hot statements to psycopg directly (fhir/driver_sql.py), past
        # SQLAlchemy's statement events.
        import psycopg

        execute = psycopg.Cursor.execute

        def recording_execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            text = query if isinstance(query, str) else bytes(query).decode()
            seen.append((text.split(None, 1)[0].upper(), bool(cursor.connection.autocommit)))
            return execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", recording_execute)

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((statement.split(None, 1)[0].upper(), False))

    if not postgres:
        event.listen(engine, "before_cursor_execute", record)
    try:
        assert fhir.get(f"Patient/{patient_id}").status_code == 200
        assert ids(fhir.search(f"Patient?_id={patient_id}")) == {f"Patient/{patient_id}"}
        reads = list(seen)
        seen.clear()
        assert fhir.put(f"Patient/{patient_id}", {**_patient(name="Rivera-Lopez"), "id": patient_id}).status_code == 200
        writes = list(seen)
    finally:
        if not postgres:
            event.remove(engine, "before_cursor_execute", record)
        monkeypatch.undo()
    assert reads
    assert all(autocommit == postgres for _, autocommit in reads), reads
    assert writes
    assert not any(autocommit for _, autocommit in writes), writes
    # The reads are still audited: one row each for the read and the search, findable by patient.
    with app.app_context():
        from sqlalchemy import text

        audited = db.session.execute(
            text("SELECT subtype FROM audit_event WHERE patient_ref = :p AND action IN ('R', 'E') ORDER BY id"),
            {"p": f"Patient/{patient_id}"},
        ).scalars()
        assert list(audited) == ["read", "search-type"]


def test_store_writes_its_own_copy_and_leaves_the_callers_body_as_given(app: Any) -> None:
    import copy

    from referral_hub.extensions import db
    from referral_hub.fhir.store import ResourceStore
    from referral_hub.security.principal import SYSTEM, set_current_principal

    patient = {k: v for k, v in example("Patient-pat-53234").items() if k not in ("id", "meta", "text")}
    nested = {"resourceType": "Patient", "extension": [{"url": "http://example.org/x"}]}
    node = nested["extension"][0]
    for _ in range(150):  # deeper than the validator's limit: still refused with 400, not a crash
        node["extension"] = [{"url": "http://example.org/x"}]
        node = node["extension"][0]
    with app.test_request_context():
        set_current_principal(SYSTEM)
        store = ResourceStore(db.session, (app.config["FHIR_BASE_URL"],))
        given = copy.deepcopy(patient)
        created = store.create(given).resource
        updated = store.update("Patient", created.resource_id, dict(created.body, gender="other")).resource
        db.session.commit()
        assert given == patient  # no id, no meta stamped into the caller's dict
        created.body["name"][0]["given"].append("Changed")
        assert given["name"] == patient["name"]
        assert updated.body["name"] == patient["name"]
        assert store.read("Patient", created.resource_id).body["name"] == patient["name"]
        with pytest.raises(FhirError) as refused:
            store.create(nested)
        assert refused.value.status == 400
        db.session.rollback()
