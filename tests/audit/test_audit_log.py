"""The audit log: API reads leave AuditEvents a program manager's client can find; nothing edits or deletes them."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from referral_hub.security.principal import Principal
from tests.policy.world import World


def _events(world: World, query: str, who: str = "program") -> list[dict[str, Any]]:
    response = world.get(f"AuditEvent?{query}", who)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [entry["resource"] for entry in response.get_json().get("entry", [])]


def _agent_id(event: dict[str, Any]) -> str:
    return event["agent"][0]["who"]["identifier"]["value"]


def test_api_read_of_a_patient_is_findable_by_patient_agent_and_action(world: World) -> None:
    p1 = world.ids["p1"]
    assert world.get(f"Patient/{p1}", "cbo_x").status_code == 200
    cbo_x = world.clients["cbo_x"].client_id
    reads = _events(world, f"patient=Patient/{p1}&action=R")
    assert [(e["subtype"][0]["code"], _agent_id(e)) for e in reads] == [("read", cbo_x)]
    event = reads[0]
    assert event["outcome"] == "0"
    assert event["agent"][1]["who"] == {"reference": world.org_ref("cbo_x")}
    assert f"Patient/{p1}/_history/1" in [e["what"].get("reference") for e in event["entity"]]
    assert _events(world, f"agent={cbo_x}&action=R") == reads
    assert _events(world, f"patient={p1}&agent={world.org_ref('cbo_x')}&action=R") == reads


def test_searches_are_audited_per_patient_with_parameter_names_only(world: World) -> None:
    assert world.get("Task?status=requested&_include=Task:patient", "cbo_x").status_code == 200
    searches = _events(world, f"patient=Patient/{world.ids['p1']}&action=E")
    assert len(searches) == 1
    details = searches[0]["entity"][0]["detail"][0]
    assert details == {"type": "query-parameters", "valueString": "_include,status"}


def test_writes_are_audited_as_create_and_update(world: World) -> None:
    creates = _events(world, f"patient=Patient/{world.ids['p1']}&action=C")
    assert {e["entity"][0]["what"]["reference"].split("/")[0] for e in creates} == {
        "Patient",
        "Condition",
        "ServiceRequest",
        "Task",
    }


def test_refusals_are_audited_with_outcome_4(world: World) -> None:
    assert world.get(f"Task/{world.ids['t1']}", "cbo_y").status_code == 404
    refused = _events(world, f"outcome=4&agent={world.clients['cbo_y'].client_id}")
    assert len(refused) == 1
    assert refused[0]["outcomeDesc"].endswith("is not known")


def test_audit_search_by_date(world: World) -> None:
    assert _events(world, "date=ge2000-01-01&_count=1")
    assert _events(world, "date=lt2000-01-01") == []


def test_audit_log_is_closed_to_other_clients_and_roles(app: Flask, world: World) -> None:
    from referral_hub.policy import permits

    assert world.get("AuditEvent", "cbo_x").status_code == 403
    assert world.get("AuditEvent", "engine").status_code == 200
    for role, allowed in {"program_manager": True, "admin": True, "clinic_staff": False, "cbo_admin": False}.items():
        user = Principal(kind="user", id="1", organization_id=1, roles=frozenset({role}))
        assert permits(user, "AuditEvent", "search") is allowed
        assert permits(user, "AuditEvent", "read") is allowed


def test_audit_event_read_by_id(world: World) -> None:
    event = _events(world, "_count=1")[0]
    response = world.get(f"AuditEvent/{event['id']}", "program")
    assert response.status_code == 200
    assert response.get_json()["id"] == event["id"]
    assert world.get("AuditEvent/999999999", "program").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_no_api_route_writes_the_audit_log(world: World, method: str) -> None:
    event = _events(world, "_count=1")[0]
    headers = world.headers("engine", **{"Content-Type": "application/fhir+json"})
    path = "/fhir/AuditEvent" if method == "POST" else f"/fhir/AuditEvent/{event['id']}"
    response = world.http.open(path, method=method, json=event, headers=headers)
    assert response.status_code == 405
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": event, "request": {"method": "PUT", "url": f"AuditEvent/{event['id']}"}}],
    }
    statuses = [e["response"]["status"] for e in world.post("", bundle, "engine").get_json()["entry"]]
    assert statuses == ["405 Method Not Allowed"]


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET outcome = '0'", "DELETE FROM audit_event"])
def test_the_database_refuses_update_and_delete_of_audit_rows(app: Flask, world: World, statement: str) -> None:
    from referral_hub.extensions import db

    with app.app_context():
        before = db.session.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one()
        assert before > 0
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
        assert db.session.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one() == before


def test_audit_code_has_no_update_or_delete_path() -> None:
    import pathlib

    package = pathlib.Path(__file__).resolve().parents[2] / "referral_hub" / "audit"
    source = "\n".join(p.read_text() for p in package.glob("*.py"))
    assert "update(AuditEventRow" not in source
    assert "delete(AuditEventRow" not in source
