"""Property-based fuzzing with hypothesis: any input yields issues, never an unexpected exception."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from referral_hub.fhir.validation import SUPPORTED_RESOURCE_TYPES, check_update_rights
from referral_hub.fhir.validation.structure import model_class
from tests.fhir_validation.test_robustness_fuzz import _EXAMPLES, _paths, assert_contract

pytest.importorskip("hypothesis", reason="hypothesis is not installed (a dev dependency of these tests)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,  # keep the checkout clean: no .hypothesis/ directory
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", "final", "completed", "requested", "Patient/p", "2020-01-01", "#c", "urn:uuid:1"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


@st.composite
def resource_like(draw: st.DrawFn) -> dict[str, Any]:
    """A dict naming a supported type, filled with that model's real element names and random JSON values."""
    rt = draw(st.sampled_from(sorted(SUPPORTED_RESOURCE_TYPES)))
    model = model_class(rt)
    assert model is not None
    names = sorted(f.alias or n for n, f in model.model_fields.items())
    keys = draw(st.lists(st.sampled_from(names), max_size=6, unique=True))
    body: dict[str, Any] = {"resourceType": rt}
    for key in keys:
        body[key] = draw(json_values)
    return body


@FUZZ
@given(json_values)
def test_any_json_value_yields_issues_not_exceptions(body: Any) -> None:
    assert_contract(body)


@FUZZ
@given(resource_like(), st.booleans())
def test_resource_shaped_garbage_yields_issues_not_exceptions(body: dict[str, Any], workflow: bool) -> None:
    assert_contract(body, workflow=workflow)


@st.composite
def example_with_an_element_replaced(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(an IG example, a copy of it with one element anywhere replaced by random JSON)."""
    original = draw(st.sampled_from(_EXAMPLES))
    mutated = copy.deepcopy(original)
    path = draw(st.sampled_from([p for p in _paths(mutated) if p]))
    parent: Any = mutated
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = draw(json_values)
    return original, mutated


@FUZZ
@given(example_with_an_element_replaced())
def test_examples_with_an_element_replaced_yield_issues_not_exceptions(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    original, mutated = pair
    assert_contract(mutated, original)
    assert_contract(original, mutated)


@FUZZ
@given(st.sampled_from(["Task"]), json_values, json_values, st.sampled_from(["requester", "owner", "patient", "other"]))
def test_update_rights_accept_any_json(rt: str, old: Any, new: Any, actor: Any) -> None:
    issues = check_update_rights({"resourceType": rt, "x": old}, new, actor)
    assert all(i.code == "forbidden" for i in issues)
