"""Provenance on every write: one per version, with who and on whose behalf, in the writing transaction."""

from __future__ import annotations

from flask import Flask

from tests.fhir_api.conftest import ids
from tests.policy.world import World


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
