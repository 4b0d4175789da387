"""Acceptance: all IG example resources load with ``referral-hub fhir load`` in any order, read back equal
apart from ``meta``, and are found by their Gravity search parameters."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from flask import Flask

from tests.auth.support import program_bearer
from tests.fhir_api.conftest import Fhir, all_examples, ids

#: For each type, the search parameters a Gravity partner uses to find such a resource (§6.2.2), as
#: functions of the resource giving the query (None when the example lacks the element).
GRAVITY_QUERIES: dict[str, list[Any]] = {
    "Task": [
        lambda r: f"code={r['code']['coding'][0]['system']}|{r['code']['coding'][0]['code']}",
        lambda r: f"status={r['status']}",
        lambda r: f"patient={r['for']['reference']}",
        lambda r: f"requester={r['requester']['reference']}",
        lambda r: f"focus={r['focus']['reference']}" if "focus" in r else None,
        lambda r: f"owner={r['owner']['reference']}" if "owner" in r else None,
    ],
    "ServiceRequest": [
        lambda r: f"patient={r['subject']['reference']}",
        lambda r: f"status={r['status']}",
        lambda r: f"intent={r['intent']}",
        lambda r: f"category={r['category'][0]['coding'][0]['system']}|{r['category'][0]['coding'][0]['code']}",
    ],
    "Procedure": [
        lambda r: f"patient={r['subject']['reference']}",
        lambda r: f"status={r['status']}",
        lambda r: f"based-on={r['basedOn'][0]['reference']}" if "basedOn" in r else None,
    ],
    "Condition": [
        lambda r: f"patient={r['subject']['reference']}",
        lambda r: f"category={r['category'][0]['coding'][0]['system']}|{r['category'][0]['coding'][0]['code']}",
    ],
    "Observation": [
        lambda r: f"patient={r['subject']['reference']}" if "subject" in r else None,
        lambda r: f"status={r['status']}",
        lambda r: f"code={r['code']['coding'][0]['system']}|{r['code']['coding'][0]['code']}",
    ],
    "Goal": [lambda r: f"patient={r['subject']['reference']}", lambda r: f"lifecycle-status={r['lifecycleStatus']}"],
    "Consent": [lambda r: f"patient={r['patient']['reference']}"],
    "QuestionnaireResponse": [lambda r: f"patient={r['subject']['reference']}", lambda r: f"status={r['status']}"],
    "Questionnaire": [lambda r: f"url={r['url']}&version={r['version']}"],
    "PractitionerRole": [
        lambda r: f"organization={r['organization']['reference']}",
        lambda r: f"practitioner={r['practitioner']['reference']}",
    ],
    "HealthcareService": [lambda r: f"location={r['location'][0]['reference']}" if "location" in r else None],
}


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


def _load_in_random_order(app: Flask, tmp_path: Path, seed: int) -> list[Path]:
    """Load the examples one file per CLI call in a shuffled order (later files reference earlier ones or not)."""
    files = all_examples()
    random.Random(seed).shuffle(files)
    runner = app.test_cli_runner()
    for index, path in enumerate(files):
        folder = tmp_path / f"batch{index:02d}"
        folder.mkdir()
        shutil.copy(path, folder / path.name)
        result = runner.invoke(args=["fhir", "load", str(folder)])
        assert result.exit_code == 0, result.output
    return files


def test_all_57_examples_load_in_any_order_and_read_back_equal(app: Flask, live_server: Any, tmp_path: Path) -> None:
    files = _load_in_random_order(app, tmp_path, seed=20261126)
    assert len(files) == 57
    fhir = Fhir(live_server.fhir, program_bearer(app)["Authorization"])
    for path in files:
        original = json.loads(path.read_text())
        response = fhir.get(f"{original['resourceType']}/{original['id']}")
        assert response.status_code == 200, path.name
        stored = response.json()
        assert _without_meta(stored) == _without_meta(original), path.name
        for key, value in (original.get("meta") or {}).items():
            assert stored["meta"][key] == value, (path.name, key)


def test_loading_the_folder_twice_updates_instead_of_duplicating(app: Flask) -> None:
    from tests.conftest import IG_EXAMPLES

    runner = app.test_cli_runner()
    first = runner.invoke(args=["fhir", "load", str(IG_EXAMPLES)])
    assert first.exit_code == 0, first.output
    assert "57 created, 0 updated" in first.output
    second = runner.invoke(args=["fhir", "load", str(IG_EXAMPLES)])
    assert "0 created, 57 updated" in second.output


def test_an_invalid_file_loads_nothing_and_is_reported(app: Flask, tmp_path: Path) -> None:
    good = all_examples()[0]
    shutil.copy(good, tmp_path / good.name)
    (tmp_path / "broken-task.json").write_text(json.dumps({"resourceType": "Task", "id": "bad", "status": "nonsense"}))
    result = app.test_cli_runner().invoke(args=["fhir", "load", str(tmp_path)])
    assert result.exit_code != 0
    assert "broken-task.json" in result.output
    from referral_hub.extensions import db
    from referral_hub.fhir.models import FhirResource

    with app.app_context():
        assert db.session.query(FhirResource).count() == 0


def test_every_example_is_found_by_its_gravity_search_parameters(ig_fhir: Fhir) -> None:
    checked = 0
    for path in all_examples():
        resource = json.loads(path.read_text())
        rtype, rid = resource["resourceType"], resource["id"]
        assert ids(ig_fhir.search(f"{rtype}?_id={rid}")) == {f"{rtype}/{rid}"}
        profiles = (resource.get("meta") or {}).get("profile") or []
        for profile in profiles:
            assert f"{rtype}/{rid}" in ids(ig_fhir.search(f"{rtype}?_id={rid}&_profile={profile}"))
        for make_query in GRAVITY_QUERIES.get(rtype, []):
            query = make_query(resource)
            if query is None:
                continue
            found = ids(ig_fhir.search(f"{rtype}?{query}&_count=200"))
            assert f"{rtype}/{rid}" in found, (path.name, query)
            checked += 1
    assert checked > 100
