"""The validator's quick paths answer exactly what its full walks answer.

``json_shape_issues`` first runs a path-free check and walks the body in full (building every FHIRPath) only when
that check is not sure; these properties pin that the shortcut never hides an issue the full walk reports, on
random JSON, on resource-shaped garbage and on IG examples with one element replaced.
"""

from __future__ import annotations

from typing import Any

import pytest

from referral_hub.fhir.validation.structure import MAX_DEPTH, _shape_walk, json_shape_issues
from tests.fhir_validation.test_robustness_hypothesis import (
    FUZZ,
    example_with_an_element_replaced,
    json_values,
    resource_like,
)

pytest.importorskip("hypothesis", reason="hypothesis is not installed (a dev dependency of these tests)")
from hypothesis import given
from hypothesis import strategies as st


def _same_shape_issues(body: dict[str, Any]) -> None:
    assert json_shape_issues("Observation", body) == _shape_walk("Observation", body)


@FUZZ
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_shape_check_agrees_with_the_full_walk_on_any_json_object(body: dict[str, Any]) -> None:
    _same_shape_issues(body)


@FUZZ
@given(resource_like())
def test_shape_check_agrees_with_the_full_walk_on_resource_shaped_garbage(body: dict[str, Any]) -> None:
    _same_shape_issues(body)


@FUZZ
@given(example_with_an_element_replaced())
def test_shape_check_agrees_with_the_full_walk_on_mutated_examples(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _same_shape_issues(pair[1])


@pytest.mark.parametrize("depth", [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2])
@pytest.mark.parametrize("in_array", [False, True])
@pytest.mark.parametrize("leaf", ["x", 1, None, [], {}, [None], ["x"], [{"a": 1}]])
def test_shape_check_agrees_with_the_full_walk_at_the_depth_limit(depth: int, in_array: bool, leaf: Any) -> None:
    """``leaf`` sits at ``depth`` (an object member one level down, an array item two)."""
    body: dict[str, Any] = {"a": leaf}
    levels = depth - 1
    if in_array:
        body, levels = {"l": [body]}, levels - 2
    for _ in range(levels):
        body = {"e": body}
    _same_shape_issues(body)


@pytest.mark.parametrize(
    "body",
    [
        {"a": "\ud800"},
        {"\ud800": 1},
        {1: "x"},
        {"a": float("nan")},
        {"a": b"bytes"},
        {"a": [None], "_a": [{"id": "x"}]},
        {"a": [[1]]},
        {"a": ""},
        {"": 1},
        {"a": {"b": {}}},
    ],
)
def test_shape_check_agrees_with_the_full_walk_on_each_kind_of_issue(body: dict[str, Any]) -> None:
    assert _shape_walk("Observation", body) or body == {"a": [None], "_a": [{"id": "x"}]}
    _same_shape_issues(body)
