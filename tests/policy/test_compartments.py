"""Compartments: a CBO sees its own referrals and what they reference, never another organization's —
whether it asks by URL, by search, by ``_include``, by ``_revinclude`` or inside a Bundle (404 / empty)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fhir_api.conftest import ids
from tests.policy.world import World


def _search(world: World, query: str, who: str) -> dict[str, Any]:
    response = world.get(query, who)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize(
    "key_type", [("t1", "Task"), ("sr1", "ServiceRequest"), ("p1", "Patient"), ("c1", "Condition")]
)
def test_owner_cbo_reads_the_referral_and_what_it_references(world: World, key_type: tuple[str, str]) -> None:
    key, resource_type = key_type
    assert world.get(f"{resource_type}/{world.ids[key]}", "cbo_x").status_code == 200
    assert world.get(f"{resource_type}/{world.ids[key]}", "clinic_a").status_code == 200


@pytest.mark.parametrize("who", ["cbo_y", "clinic_b", "program"])
@pytest.mark.parametrize(
    "path", ["Task/{t1}", "Task/{t1}/_history", "Task/{t1}/_history/1", "Patient/{p1}", "ServiceRequest/{sr1}"]
)
def test_url_tampering_across_organizations_is_404(world: World, who: str, path: str) -> None:
    response = world.get(path.format(**world.ids), who)
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_search_returns_only_the_callers_compartment(world: World) -> None:
    t1, t2, p1, p2 = (world.ids[k] for k in ("t1", "t2", "p1", "p2"))
    assert ids(_search(world, "Task", "cbo_y")) == {f"Task/{t2}"}
    assert _search(world, "Task", "cbo_y")["total"] == 1
    assert ids(_search(world, f"Task?_id={t1},{t2}", "cbo_y")) == {f"Task/{t2}"}
    assert ids(_search(world, f"Task?patient=Patient/{p1}", "cbo_y")) == set()
    assert ids(_search(world, "Patient", "cbo_y")) == {f"Patient/{p2}"}
    assert ids(_search(world, "Patient", "engine")) >= {f"Patient/{p1}", f"Patient/{p2}"}


def test_include_never_reaches_into_another_compartment(world: World) -> None:
    t1 = world.ids["t1"]
    query = f"Task?_id={t1}&_include=Task:patient&_include=Task:focus"
    assert ids(_search(world, query, "cbo_x"), "include") == {
        f"Patient/{world.ids['p1']}",
        f"ServiceRequest/{world.ids['sr1']}",
    }
    bundle = _search(world, f"ServiceRequest?_include=ServiceRequest:patient&_id={world.ids['sr1']}", "cbo_y")
    assert bundle.get("entry", []) == []


def test_revinclude_through_a_public_resource_does_not_leak_tasks(world: World) -> None:
    cbo_x_org = world.org_ref("cbo_x").split("/")[1]
    bundle = _search(world, f"Organization?_id={cbo_x_org}&_revinclude=Task:owner", "cbo_y")
    assert ids(bundle) == {f"Organization/{cbo_x_org}"}
    assert ids(bundle, "include") == set()
    own = _search(world, f"Organization?_id={cbo_x_org}&_revinclude=Task:owner", "cbo_x")
    assert ids(own, "include") == {f"Task/{world.ids['t1']}"}


def test_provenance_follows_its_target_into_the_compartment(world: World) -> None:
    t1 = world.ids["t1"]
    assert len(ids(_search(world, f"Provenance?target=Task/{t1}", "cbo_x"))) == 1
    assert ids(_search(world, f"Provenance?target=Task/{t1}", "cbo_y")) == set()
    revinclude = _search(world, f"Task?_id={t1}&_revinclude=Provenance:target", "cbo_x")
    assert len(ids(revinclude, "include")) == 1


def test_bundle_entries_get_the_same_refusals(world: World) -> None:
    t1, t2 = world.ids["t1"], world.ids["t2"]
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Task/{t1}"}},
            {"request": {"method": "GET", "url": f"Task/{t2}"}},
            {"request": {"method": "GET", "url": "Task"}},
        ],
    }
    response = world.post("", batch, "cbo_y")
    assert response.status_code == 200
    entries = response.get_json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["404 Not Found", "200 OK", "200 OK"]
    assert {e["resource"]["id"] for e in entries[2]["resource"]["entry"]} == {t2}
    transaction = dict(batch, type="transaction", entry=batch["entry"][:1])
    assert world.post("", transaction, "cbo_y").status_code == 404


def test_directory_resources_are_public_to_every_client(world: World) -> None:
    clinic_org = world.org_ref("clinic_a")
    assert world.get(clinic_org, "cbo_y").status_code == 200


def test_program_client_without_all_compartments_sees_only_its_own(world: World) -> None:
    assert ids(_search(world, "Task", "program")) == set()
    assert len(ids(_search(world, "Task", "engine"))) == 2


def test_created_resources_belong_to_the_creators_organization(world: World) -> None:
    created = world.create("p3", "Patient", {"resourceType": "Patient", "active": True}, "cbo_x")
    assert world.get(f"Patient/{created['id']}", "cbo_x").status_code == 200
    assert world.get(f"Patient/{created['id']}", "clinic_a").status_code == 404


def test_output_procedures_are_shared_with_the_requester(world: World) -> None:
    from tests.fhir_api.conftest import example

    procedure = example("Procedure-SDOHCC-ProcedureProvisionOfFoodExample")
    for key in ("id", "meta", "text"):
        procedure.pop(key, None)
    procedure["subject"] = {"reference": f"Patient/{world.ids['p1']}"}
    procedure["basedOn"] = [{"reference": f"ServiceRequest/{world.ids['sr1']}"}]
    created = world.create("proc1", "Procedure", procedure, "cbo_x")
    assert world.get(f"Procedure/{created['id']}", "clinic_a").status_code == 404
    task = world.task("t1")
    for status in ("accepted", "in-progress"):
        task = world.put(f"Task/{task['id']}", dict(task, status=status), "cbo_x").get_json()
    done = dict(
        task,
        status="completed",
        output=[
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes",
                            "code": "resulting-activity",
                        }
                    ]
                },
                "valueReference": {"reference": f"Procedure/{created['id']}"},
            }
        ],
    )
    response = world.put(f"Task/{task['id']}", done, "cbo_x")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert world.get(f"Procedure/{created['id']}", "clinic_a").status_code == 200
    assert world.get(f"Procedure/{created['id']}", "cbo_y").status_code == 404
