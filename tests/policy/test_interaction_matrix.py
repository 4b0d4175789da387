"""The scope × FHIR interaction matrix over HTTP, and the role × interaction matrix of the policy module.

Each cell asserts allow (2xx) or deny (403) for one interaction on a Task inside the caller's compartment, so
only the scope (client) or the role (user) decides. ``metadata`` is public for everybody.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from referral_hub.security.principal import Principal
from tests.auth.support import mint_token
from tests.fhir_api.conftest import referral_task
from tests.policy.world import World

INTERACTIONS = ("read", "vread", "history", "search", "create", "update", "batch", "transaction", "metadata")

#: scopes → the interactions they allow (the rest must be 403).
SCOPE_MATRIX: dict[str, set[str]] = {
    "system/Task.cruds": set(INTERACTIONS),
    "system/Task.rs": {"read", "vread", "history", "search", "batch", "metadata"},
    "system/Task.read": {"read", "vread", "history", "search", "batch", "metadata"},
    "system/Task.cu": {"create", "update", "transaction", "metadata"},
    "system/Task.write": {"create", "update", "transaction", "metadata"},
    "system/*.rs": {"read", "vread", "history", "search", "batch", "metadata"},
    "system/Patient.cruds": {"metadata"},
}


def _call(world: World, interaction: str, token: str) -> int:
    client = world.http
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    task_id = world.ids["t1"]
    new_task = referral_task(
        requester={"reference": world.org_ref("clinic_a")},
        owner={"reference": world.org_ref("cbo_x")},
        focus={"reference": f"ServiceRequest/{world.ids['sr1']}"},
        **{"for": {"reference": f"Patient/{world.ids['p1']}"}},
    )
    if interaction == "metadata":
        return client.get("/fhir/metadata").status_code
    if interaction == "read":
        return client.get(f"/fhir/Task/{task_id}", headers=headers).status_code
    if interaction == "vread":
        return client.get(f"/fhir/Task/{task_id}/_history/1", headers=headers).status_code
    if interaction == "history":
        return client.get(f"/fhir/Task/{task_id}/_history", headers=headers).status_code
    if interaction == "search":
        return client.get("/fhir/Task?status=requested", headers=headers).status_code
    if interaction == "create":
        return client.post("/fhir/Task", json=new_task, headers=headers).status_code
    if interaction == "update":
        current = world.task("t1")
        return client.put(f"/fhir/Task/{task_id}", json=dict(current, priority="urgent"), headers=headers).status_code
    entry: dict[str, Any]
    if interaction == "batch":
        entry = {"request": {"method": "GET", "url": f"Task/{task_id}"}}
        response = client.post(
            "/fhir", json={"resourceType": "Bundle", "type": "batch", "entry": [entry]}, headers=headers
        )
        return int(response.get_json()["entry"][0]["response"]["status"].split()[0])
    entry = {"resource": new_task, "request": {"method": "POST", "url": "Task"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    return client.post("/fhir", json=bundle, headers=headers).status_code


@pytest.mark.parametrize("scopes", sorted(SCOPE_MATRIX))
def test_scope_interaction_matrix(app: Flask, world: World, scopes: str) -> None:
    identity = world.clients["clinic_a"]
    token = mint_token(app, identity, scopes=scopes)
    results = {interaction: _call(world, interaction, token) for interaction in INTERACTIONS}
    expected = {i: ("allow" if i in SCOPE_MATRIX[scopes] else "deny") for i in INTERACTIONS}
    actual = {
        i: ("allow" if 200 <= status < 300 else "deny" if status == 403 else status) for i, status in results.items()
    }
    assert actual == expected


ROLE_MATRIX: dict[str, dict[str, bool]] = {
    # role: interaction on Task (and AuditEvent search) → allowed
    "clinic_staff": {"read": True, "search": True, "create": True, "update": True, "audit": False},
    "cbo_staff": {"read": True, "search": True, "create": True, "update": True, "audit": False},
    "cbo_admin": {"read": True, "search": True, "create": True, "update": True, "audit": False},
    "program_manager": {"read": True, "search": True, "create": False, "update": False, "audit": True},
    "admin": {"read": True, "search": True, "create": True, "update": True, "audit": True},
}


@pytest.mark.parametrize("role", sorted(ROLE_MATRIX))
def test_role_interaction_matrix(app: Flask, role: str) -> None:
    from referral_hub.policy import permits

    user = Principal(kind="user", id="7", organization_id=1, roles=frozenset({role}))
    observed = {
        interaction: permits(user, "Task", interaction) for interaction in ("read", "search", "create", "update")
    }
    observed["audit"] = permits(user, "AuditEvent", "search")
    assert observed == ROLE_MATRIX[role]
    assert not permits(user, "Task", "delete")


@pytest.mark.parametrize(
    ("role", "org_client", "sees_t1", "sees_t2"),
    [
        ("clinic_staff", "clinic_a", True, False),
        ("cbo_staff", "cbo_x", True, False),
        ("cbo_admin", "cbo_y", False, True),
        ("program_manager", "program", True, True),
        ("admin", "program", True, True),
    ],
)
def test_users_see_their_organizations_compartment_through_the_same_policy(
    app: Flask, world: World, role: str, org_client: str, sees_t1: bool, sees_t2: bool
) -> None:
    from sqlalchemy import select

    from referral_hub.extensions import db
    from referral_hub.fhir.models import FhirResource
    from referral_hub.policy import Access

    identity = world.clients[org_client]
    user = Principal(
        kind="user",
        id="7",
        organization_id=identity.organization_id,
        organization_ref=identity.organization_ref,
        roles=frozenset({role}),
    )
    with app.app_context():
        access = Access(db.session, user, (app.config["FHIR_BASE_URL"],))
        query = select(FhirResource.resource_id).where(FhirResource.resource_type == "Task")
        scope = access.search_scope()
        visible = set(db.session.execute(scope(query) if scope else query).scalars())
    assert (world.ids["t1"] in visible, world.ids["t2"] in visible) == (sees_t1, sees_t2)


def test_patient_principals_get_nothing_from_the_staff_policy(app: Flask) -> None:
    from referral_hub.policy import permits

    patient = Principal(kind="patient", id="p")
    assert not any(permits(patient, "Task", i) for i in ("read", "search", "create", "update"))
