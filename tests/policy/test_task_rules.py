"""Who may create and change a referral Task (issue 3 scope 4; gravity-sdoh-cc.md §6.3, check T-9)."""

from __future__ import annotations

from tests.fhir_api.conftest import referral_task
from tests.policy.world import World


def test_t9a_owner_changing_focus_requester_or_for_is_403(world: World) -> None:
    task = world.task("t1")
    for element, value in (
        ("focus", {"reference": f"ServiceRequest/{world.ids['sr2']}"}),
        ("requester", {"reference": world.org_ref("cbo_x")}),
        ("for", {"reference": f"Patient/{world.ids['p2']}"}),
    ):
        response = world.put(f"Task/{task['id']}", dict(task, **{element: value}), "cbo_x")
        assert response.status_code == 403, element
        issue = response.get_json()["issue"][0]
        assert issue["code"] == "forbidden"
        assert issue["expression"] == [f"Task.{element}"]
    assert world.task("t1")["meta"]["versionId"] == "1"


def test_t9b_third_party_status_change_is_refused(world: World) -> None:
    task = world.task("t1")
    # A third party that cannot see the Task learns nothing (404) ...
    assert world.put(f"Task/{task['id']}", dict(task, status="accepted"), "cbo_y").status_code == 404
    # ... and one that can see it (its organization created it for the requester) gets 403.
    created = world.post(
        "Task",
        referral_task(
            requester={"reference": world.org_ref("clinic_a")},
            owner={"reference": world.org_ref("cbo_x")},
            focus={"reference": f"ServiceRequest/{world.ids['sr1']}"},
            **{"for": {"reference": f"Patient/{world.ids['p1']}"}},
        ),
        "engine",
    ).get_json()
    assert world.get(f"Task/{created['id']}", "program_writer").status_code == 200
    response = world.put(f"Task/{created['id']}", dict(created, status="accepted"), "program_writer")
    assert response.status_code == 403
    assert response.get_json()["issue"][0]["code"] == "forbidden"


def test_t9c_author_may_change_anything(world: World) -> None:
    task = world.task("t1")
    changed = dict(task, priority="urgent", focus={"reference": f"ServiceRequest/{world.ids['sr1']}"})
    changed["note"] = [{"text": "please call before noon"}]
    response = world.put(f"Task/{task['id']}", changed, "clinic_a", if_match='W/"1"')
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["priority"] == "urgent"


def test_owner_may_accept_and_add_notes(world: World) -> None:
    task = world.task("t1")
    response = world.put(f"Task/{task['id']}", dict(task, status="accepted", note=[{"text": "on it"}]), "cbo_x")
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_task_can_only_be_created_with_the_callers_organization_as_requester(world: World) -> None:
    def task_for(requester: str) -> dict:
        return referral_task(
            requester={"reference": requester},
            owner={"reference": world.org_ref("cbo_x")},
            focus={"reference": f"ServiceRequest/{world.ids['sr1']}"},
            **{"for": {"reference": f"Patient/{world.ids['p1']}"}},
        )

    refused = world.post("Task", task_for(world.org_ref("clinic_a")), "cbo_x")
    assert refused.status_code == 403
    assert refused.get_json()["issue"][0]["expression"] == ["Task.requester"]
    assert world.post("Task", task_for(world.org_ref("clinic_a")), "clinic_a").status_code == 201
    assert world.post("Task", task_for("Organization/unknown-org"), "clinic_a").status_code == 403


def test_requester_named_by_practitioner_role_resolves_to_its_organization(world: World) -> None:
    role = {
        "resourceType": "PractitionerRole",
        "active": True,
        "organization": {"reference": world.org_ref("clinic_a")},
    }
    created_role = world.create("role", "PractitionerRole", role, "clinic_a")
    task = referral_task(
        requester={"reference": f"PractitionerRole/{created_role['id']}"},
        owner={"reference": world.org_ref("cbo_x")},
        focus={"reference": f"ServiceRequest/{world.ids['sr1']}"},
        **{"for": {"reference": f"Patient/{world.ids['p1']}"}},
    )
    created = world.post("Task", task, "clinic_a")
    assert created.status_code == 201, created.get_data(as_text=True)
    assert world.get(f"Task/{created.get_json()['id']}", "cbo_x").status_code == 200
    assert world.post("Task", task, "clinic_b").status_code == 403


def test_only_the_creating_organization_updates_other_resources(world: World) -> None:
    patient = world.get(f"Patient/{world.ids['p1']}", "cbo_x").get_json()
    assert world.put(f"Patient/{patient['id']}", dict(patient, active=False), "cbo_x").status_code == 403
    assert world.put(f"Patient/{patient['id']}", dict(patient, active=False), "clinic_a").status_code == 200
