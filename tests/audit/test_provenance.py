"""Provenance on every write, with who and on whose behalf, in the writing transaction: one per transaction and
activity, listing every version it wrote."""

from __future__ import annotations

import json

from flask import Flask

from tests.conftest import IG_EXAMPLES
from tests.fhir_api.conftest import ids
from tests.policy.world import World

HVS_QR = "QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample"


def _provenances(world: World, target: str) -> list[dict]:
    bundle = world.get(f"Provenance?target={target}", "engine").get_json()
    return [entry["resource"] for entry in bundle.get("entry", [])]


def test_create_and_update_each_get_a_provenance_naming_agent_and_organization(world: World) -> None:
    task = world.task("t1")
    assert world.put(f"Task/{task['id']}", dict(task, status="accepted"), "cbo_x").status_code == 200
    provenances = sorted(_provenances(world, f"Task/{task['id']}"), key=lambda p: p["target"][0]["reference"])
    assert [p["target"][0]["reference"] for p in provenances] == [
        f"Task/{task['id']}/_history/1",
        f"Task/{task['id']}/_history/2",
    ]
    create, update = provenances
    assert create["activity"]["coding"][0]["code"] == "CREATE"
    assert update["activity"]["coding"][0]["code"] == "UPDATE"
    assert create["agent"][0]["who"]["identifier"]["value"] == world.clients["clinic_a"].client_id
    assert create["agent"][0]["onBehalfOf"] == {"reference": world.org_ref("clinic_a")}
    assert update["agent"][0]["onBehalfOf"] == {"reference": world.org_ref("cbo_x")}
    assert update["recorded"] == world.task("t1")["meta"]["lastUpdated"]


def test_provenance_is_valid_r4(world: World) -> None:
    from referral_hub.fhir.validation import validate_resource

    for provenance in _provenances(world, f"Task/{world.ids['t1']}"):
        validate_resource(provenance)  # raises ValidationError when not well-formed R4


def test_a_refused_write_leaves_no_provenance(world: World) -> None:
    task = world.task("t1")
    before = _provenances(world, f"Task/{task['id']}")
    assert world.put(f"Task/{task['id']}", dict(task, status="bogus"), "clinic_a").status_code == 422
    assert world.put(f"Task/{task['id']}", dict(task, priority="urgent"), "cbo_x").status_code == 403
    assert _provenances(world, f"Task/{task['id']}") == before


def test_provenance_cannot_be_written_through_the_api(world: World) -> None:
    provenance = _provenances(world, f"Task/{world.ids['t1']}")[0]
    assert world.post("Provenance", provenance, "engine").status_code == 405
    assert world.put(f"Provenance/{provenance['id']}", provenance, "engine").status_code == 405


def test_revinclude_provenance_with_the_task(app: Flask, world: World) -> None:
    bundle = world.get(f"Task?_id={world.ids['t1']}&_revinclude=Provenance:target", "clinic_a").get_json()
    assert len(ids(bundle, "include")) == 1


def _provenance_of(world: World, target: str) -> dict:
    """The one Provenance that lists ``target`` (``Type/id``); fails when there is not exactly one."""
    found = _provenances(world, target)
    assert len(found) == 1, [p["target"] for p in found]
    return found[0]


def _unversioned(reference: str) -> str:
    return reference.split("/_history/")[0]


def test_a_transaction_gets_one_provenance_per_activity_listing_every_version(world: World) -> None:
    condition = world.get(f"Condition/{world.ids['c1']}", "engine").get_json()
    patient_url = "urn:uuid:5b1e2c3d-0000-4000-8000-000000000001"
    new_condition = {k: v for k, v in condition.items() if k not in ("id", "meta")}
    new_condition["subject"] = {"reference": patient_url}
    patient = world.get(f"Patient/{world.ids['p1']}", "engine").get_json()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": {k: v for k, v in patient.items() if k not in ("id", "meta")},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": new_condition, "request": {"method": "POST", "url": "Condition"}},
            {
                "resource": dict(condition, note=[{"text": "reviewed"}]),
                "request": {"method": "PUT", "url": f"Condition/{condition['id']}"},
            },
        ],
    }
    response = world.post("", bundle, "clinic_a")
    assert response.status_code == 200, response.get_data(as_text=True)
    created_patient, created_condition, updated = (e["response"]["location"] for e in response.get_json()["entry"])

    create = _provenance_of(world, _unversioned(created_patient))
    assert create["activity"]["coding"][0]["code"] == "CREATE"
    assert [t["reference"] for t in create["target"]] == [created_patient, created_condition]
    assert _provenance_of(world, _unversioned(created_condition))["id"] == create["id"]
    of_condition = _provenances(world, _unversioned(updated))
    update = next(p for p in of_condition if p["activity"]["coding"][0]["code"] == "UPDATE")
    assert len(of_condition) == 2  # its create when the world was built, and this transaction's update
    assert [t["reference"] for t in update["target"]] == [updated]
    assert updated.endswith("/_history/2")
    for provenance in (create, update):
        assert provenance["agent"][0]["onBehalfOf"] == {"reference": world.org_ref("clinic_a")}


def test_a_failed_batch_entry_leaves_no_provenance_target(world: World) -> None:
    patient = world.get(f"Patient/{world.ids['p1']}", "engine").get_json()
    fresh = {k: v for k, v in patient.items() if k not in ("id", "meta")}
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": fresh, "request": {"method": "POST", "url": "Patient"}},
            {"resource": dict(fresh, gender="bogus"), "request": {"method": "POST", "url": "Patient"}},
            {"resource": fresh, "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    response = world.post("", bundle, "clinic_a")
    assert response.status_code == 200, response.get_data(as_text=True)
    first, refused, third = (e["response"] for e in response.get_json()["entry"])
    assert refused["status"].startswith("4")
    # Each entry commits or rolls back on its own, so each stored one has its own Provenance.
    provenances = [_provenance_of(world, _unversioned(r["location"])) for r in (first, third)]
    assert [[t["reference"] for t in p["target"]] for p in provenances] == [[first["location"]], [third["location"]]]


def test_a_screening_submission_gets_one_provenance_listing_the_response_and_what_it_extracted(
    world: World,
) -> None:
    qr = json.loads((IG_EXAMPLES / f"{HVS_QR}.json").read_text())
    for key in ("id", "meta", "text"):
        qr.pop(key, None)
    qr["subject"] = {"reference": f"Patient/{world.ids['p1']}"}
    response = world.post("QuestionnaireResponse", qr, "clinic_a")
    assert response.status_code == 201, response.get_data(as_text=True)
    qr_id = response.get_json()["id"]
    derived = world.get(f"Observation?derived-from=QuestionnaireResponse/{qr_id}&_count=100", "engine").get_json()
    observations = ids(derived)
    assert len(observations) >= 3

    provenance = _provenance_of(world, f"QuestionnaireResponse/{qr_id}")
    targets = [t["reference"] for t in provenance["target"]]
    assert f"QuestionnaireResponse/{qr_id}/_history/1" in targets
    assert {f"{o}/_history/1" for o in observations} <= set(targets)
    assert {_unversioned(t).split("/")[0] for t in targets} == {"QuestionnaireResponse", "Observation", "Condition"}
    assert len(set(targets)) == len(targets)
    for target in targets:  # every written version names this Provenance, and only this one
        assert _provenance_of(world, _unversioned(target))["id"] == provenance["id"]
        assert world.get(target, "engine").status_code == 200
    assert provenance["activity"]["coding"][0]["code"] == "CREATE"
