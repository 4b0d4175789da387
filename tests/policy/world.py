"""A small multi-organization world for authorization tests, built through the FHIR API itself.

Two clinics each refer one patient to a different CBO:

* clinic A → Patient p1, Condition c1, ServiceRequest sr1 (reason c1), Task t1 (requester clinic A, owner CBO X);
* clinic B → Patient p2, ServiceRequest sr2, Task t2 (requester clinic B, owner CBO Y).

Clients: one ``system/*.cruds`` client per clinic/CBO, a program reporting client (``system/*.rs`` and the audit
log), and a program integration engine with all compartments.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.auth.support import TestClientIdentity, mint_token, register_test_client
from tests.fhir_api.conftest import FHIR_JSON, example, referral_task

CLIENTS: dict[str, tuple[str, str, str, bool]] = {
    # name: (organization slug, kind, scopes, all compartments)
    "clinic_a": ("clinic-a", "clinic", "system/*.cruds", False),
    "clinic_b": ("clinic-b", "clinic", "system/*.cruds", False),
    "cbo_x": ("cbo-x", "cbo", "system/*.cruds", False),
    "cbo_y": ("cbo-y", "cbo", "system/*.cruds", False),
    "program": ("program", "program", "system/*.rs system/AuditEvent.rs", False),
    "program_writer": ("program", "program", "system/*.cruds", False),
    "engine": ("program", "program", "system/*.cruds system/AuditEvent.rs", True),
}


def _fresh(name: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(example(name))
    for key in ("id", "meta", "text"):
        body.pop(key, None)
    body.update(changes)
    return body


@dataclass
class World:
    app: Flask
    http: FlaskClient
    clients: dict[str, TestClientIdentity] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str | None, **extra: str) -> dict[str, str]:
        headers = {"Accept": FHIR_JSON, **extra}
        if who is not None:
            headers["Authorization"] = f"Bearer {mint_token(self.app, self.clients[who])}"
        return headers

    def get(self, path: str, who: str | None) -> Any:
        return self.http.get(f"/fhir/{path}", headers=self.headers(who))

    def post(self, path: str, body: dict[str, Any], who: str | None) -> Any:
        return self.http.post(
            f"/fhir/{path}", data=json.dumps(body), headers=self.headers(who, **{"Content-Type": FHIR_JSON})
        )

    def put(self, path: str, body: dict[str, Any], who: str | None, if_match: str | None = None) -> Any:
        extra = {"Content-Type": FHIR_JSON}
        if if_match:
            extra["If-Match"] = if_match
        return self.http.put(f"/fhir/{path}", data=json.dumps(body), headers=self.headers(who, **extra))

    def org_ref(self, who: str) -> str:
        return self.clients[who].organization_ref

    def create(self, key: str, resource_type: str, body: dict[str, Any], who: str) -> dict[str, Any]:
        response = self.post(resource_type, body, who)
        assert response.status_code == 201, response.get_data(as_text=True)
        created = response.get_json()
        self.ids[key] = created["id"]
        return created

    def task(self, key: str) -> dict[str, Any]:
        response = self.get(f"Task/{self.ids[key]}", "engine")
        assert response.status_code == 200
        return response.get_json()


def build_world(app: Flask) -> World:
    world = World(app, app.test_client())
    for name, (slug, kind, scopes, all_compartments) in CLIENTS.items():
        world.clients[name] = register_test_client(
            app, org_slug=slug, org_kind=kind, scopes=scopes, all_compartments=all_compartments
        )
    for suffix, clinic, cbo in (("1", "clinic_a", "cbo_x"), ("2", "clinic_b", "cbo_y")):
        patient = world.create(f"p{suffix}", "Patient", _fresh("Patient-pat-53234"), clinic)
        patient_ref = {"reference": f"Patient/{patient['id']}"}
        condition = world.create(
            f"c{suffix}",
            "Condition",
            _fresh("Condition-SDOHCC-ConditionFoodInsecurityExample", subject=patient_ref),
            clinic,
        )
        request = world.create(
            f"sr{suffix}",
            "ServiceRequest",
            _fresh(
                "ServiceRequest-SDOHCC-ServiceRequestActiveFoodPantryApplicationAssistExample",
                subject=patient_ref,
                reasonReference=[{"reference": f"Condition/{condition['id']}"}],
            ),
            clinic,
        )
        world.create(
            f"t{suffix}",
            "Task",
            referral_task(
                requester={"reference": world.org_ref(clinic)},
                owner={"reference": world.org_ref(cbo)},
                focus={"reference": f"ServiceRequest/{request['id']}"},
                **{"for": patient_ref},
            ),
            clinic,
        )
    return world


__all__ = ["CLIENTS", "World", "build_world"]
