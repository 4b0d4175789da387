"""Fixtures for FHIR API tests: a live hub loaded with the IG examples, and resource builders.

Every call authenticates as an all-compartments program client with ``system/*.cruds`` (the integration-engine
identity), so these tests keep testing FHIR behaviour; authorization itself is tested in ``tests/policy``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from tests.auth.support import authorize_test_clients, program_bearer
from tests.conftest import IG_EXAMPLES, LiveServer, make_test_app

FHIR_JSON = "application/fhir+json"
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare"
REFERRAL_PROFILE = f"{SDOHCC}/StructureDefinition/SDOHCC-TaskForReferralManagement"


def example(name: str) -> dict[str, Any]:
    """One IG example resource by file stem (``Task-SDOHCC-…Example``)."""
    return json.loads((IG_EXAMPLES / f"{name}.json").read_text())


def all_examples() -> list[Path]:
    return sorted(p for p in IG_EXAMPLES.glob("*.json") if not p.name.startswith("_"))


class Fhir:
    """A tiny FHIR client over real HTTP (``requests``), so tests exercise the server as partners do."""

    def __init__(self, base: str, authorization: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["Accept"] = FHIR_JSON
        if authorization:
            self.http.headers["Authorization"] = authorization

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}/{path.lstrip('/')}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url(path), timeout=30, **kwargs)

    def post(self, path: str, body: dict[str, Any], **kwargs: Any) -> requests.Response:
        headers = {"Content-Type": FHIR_JSON, **kwargs.pop("headers", {})}
        return self.http.post(self.url(path), data=json.dumps(body), headers=headers, timeout=30, **kwargs)

    def put(self, path: str, body: dict[str, Any], if_match: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Content-Type": FHIR_JSON, **kwargs.pop("headers", {})}
        if if_match is not None:
            headers["If-Match"] = if_match
        return self.http.put(self.url(path), data=json.dumps(body), headers=headers, timeout=30, **kwargs)

    def search(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["resourceType"] == "Bundle"
        assert bundle["type"] == "searchset"
        return bundle


def ids(bundle: dict[str, Any], mode: str = "match") -> set[str]:
    """``Type/id`` of the entries with the given search mode."""
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode") == mode
    }


def load_examples(app: Flask) -> None:
    from referral_hub.extensions import db
    from referral_hub.fhir.loader import load_directory
    from referral_hub.fhir.store import ResourceStore

    with app.app_context():
        report = load_directory(ResourceStore(db.session, (app.config["FHIR_BASE_URL"],)), IG_EXAMPLES)
        assert not report.errors, report.errors
        db.session.commit()
        db.session.remove()


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The app of ``tests/conftest.py`` whose ``test_client()`` sends a program client's bearer token."""
    application = make_test_app(database_url)
    authorize_test_clients(application)
    yield application
    with application.app_context():
        from referral_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def fhir(app: Flask, live_server: LiveServer) -> Fhir:
    return Fhir(live_server.fhir, program_bearer(app)["Authorization"])


@pytest.fixture
def ig_fhir(app: Flask, live_server: LiveServer) -> Iterator[Fhir]:
    """A live hub holding the 57 IG examples."""
    load_examples(app)
    return Fhir(live_server.fhir, program_bearer(app)["Authorization"])


def referral_task(**changes: Any) -> dict[str, Any]:
    """A fresh, valid SDOHCC referral Task in ``requested`` (built from the IG's accepted example)."""
    task = copy.deepcopy(example("Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample"))
    for key in ("id", "meta", "text"):
        task.pop(key, None)
    task["meta"] = {"profile": [REFERRAL_PROFILE]}
    task["status"] = "requested"
    task.pop("statusReason", None)
    task.pop("output", None)
    task.update(changes)
    return task
