"""No input yields a 500: random bodies, ids, headers and query strings always get a FHIR answer < 500."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fhir_api.conftest import FHIR_JSON, referral_task

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
TYPES = st.sampled_from(["Task", "Patient", "ServiceRequest", "Observation", "Consent", "Procedure", "Bundle"])
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _assert_fhir_answer(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.get_json()["resourceType"] == "OperationOutcome"


@FUZZ
@given(resource_type=TYPES, body=JSON_VALUES)
def test_random_json_bodies_never_cause_a_server_error(app: Flask, resource_type: str, body: Any) -> None:
    client = app.test_client()
    if isinstance(body, dict):
        body = dict(body, resourceType=resource_type)
    response = client.post(f"/fhir/{resource_type}", data=json.dumps(body), content_type=FHIR_JSON)
    _assert_fhir_answer(response)


@FUZZ
@given(field=st.sampled_from(sorted(referral_task())), value=JSON_VALUES)
def test_referral_tasks_with_one_random_element_never_cause_a_server_error(app: Flask, field: str, value: Any) -> None:
    body = dict(referral_task(), **{field: value})
    response = app.test_client().post("/fhir/Task", data=json.dumps(body), content_type=FHIR_JSON)
    _assert_fhir_answer(response)


@FUZZ
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "_id",
                    "status",
                    "owner",
                    "owner:missing",
                    "_lastUpdated",
                    "authored-on",
                    "_count",
                    "_sort",
                    "_include",
                    "_revinclude",
                    "code",
                    "patient",
                    "_total",
                    "_cursor",
                    "focus:Patient",
                    "output",
                    "_profile",
                    "name:contains",
                    "birthdate",
                    "description:exact",
                    "x",
                ]
            ),
            st.text(max_size=25),
        ),
        max_size=4,
    )
)
@example(params=[("_id", "\x00")])  # found by this test: PostgreSQL refuses NUL in text, which was a 500
@example(params=[("x\x00", "a")])
def test_random_search_parameters_never_cause_a_server_error(app: Flask, params: list[tuple[str, str]]) -> None:
    response = app.test_client().get("/fhir/Task", query_string=params)
    _assert_fhir_answer(response)


@FUZZ
@given(rid=st.text(max_size=80), if_match=st.one_of(st.none(), st.text(max_size=10)), body=JSON_VALUES)
def test_random_updates_never_cause_a_server_error(app: Flask, rid: str, if_match: str | None, body: Any) -> None:
    headers = {"If-Match": if_match} if if_match is not None and "\n" not in if_match and "\r" not in if_match else {}
    path = "/fhir/Patient/" + rid.replace("/", "_").replace("?", "_").replace("#", "_")
    response = app.test_client().put(path, data=json.dumps(body), content_type=FHIR_JSON, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)


@FUZZ
@given(entries=st.lists(JSON_VALUES, max_size=4), kind=st.sampled_from(["batch", "transaction", "collection", 7]))
def test_random_bundles_never_cause_a_server_error(app: Flask, entries: list[Any], kind: Any) -> None:
    body = {"resourceType": "Bundle", "type": kind, "entry": entries}
    response = app.test_client().post("/fhir", data=json.dumps(body), content_type=FHIR_JSON)
    _assert_fhir_answer(response)
