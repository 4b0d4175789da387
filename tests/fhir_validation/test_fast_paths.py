"""The validator's quick paths answer exactly what its full passes answer.

``json_shape_issues`` first runs a path-free check and walks the body in full (building every FHIRPath) only when
that check is not sure; ``model_issues`` skips building the fhir.resources model when ``model_check.accepts`` proves
it would be accepted. These properties pin that neither shortcut ever hides an issue: on random JSON, on
resource-shaped garbage, on IG examples with an element replaced, removed or doubled by a second choice type.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Iterator
from typing import Any

import pytest

from referral_hub.fhir.validation.model_check import accepts
from referral_hub.fhir.validation.structure import (
    MAX_DEPTH,
    _shape_walk,
    datatype_issues,
    json_shape_issues,
    model_class,
)
from tests.fhir_validation.test_robustness_fuzz import _EXAMPLES, _mutate, _paths
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


# --- the quick check of passes 1-3: accepts(...) implies no shape or datatype issue and a valid model ---

#: Primitive texts on the edge of some FHIR datatype's rules (dates that do not exist, codes with inner blanks ...).
_EDGE_TEXTS = (
    " ",
    "a  b",
    " lead",
    "2020-02-30",
    "2020-13-01",
    "2020-01-01T25:00:00Z",
    "2020-01-01T10:00:00",
    "2020",
    "10:61:00",
    "-0",
    "1e400",
    "urn:uuid:x",
    "x" * 70,
    "has\u0000nul",
    "true",
    "5",
    "1.5",
)
_EDGE_VALUES: tuple[Any, ...] = (*_EDGE_TEXTS, 0, -1, 1.5, True, {"url": "x"}, [{"text": "t"}])
_CHOICE_TWINS = {"valueString": "x", "valueBoolean": True, "effectiveDateTime": "2020", "onsetString": "x"}


def _assert_quick_implies_model(body: Any) -> None:
    """If the quick check accepts, the JSON shape and strict datatype passes find nothing and the model builds."""
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        return
    model = model_class(body["resourceType"])
    if model is None or not accepts(model, body):
        return
    assert json_shape_issues(body["resourceType"], body) == []
    assert datatype_issues(body["resourceType"], body) == []
    model.model_validate(body)  # raises (and fails the test) if the quick check accepted a body pydantic rejects


def _edge_mutations(example: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each element removed; each primitive replaced by edge values; a second choice type next to each one."""
    for path in _paths(example):
        if not path:
            continue
        parent: Any = example
        for part in path[:-1]:
            parent = parent[part]
        value = parent[path[-1]]
        if isinstance(parent, dict):
            yield _replaced(example, path, _DELETE)
            for twin, twin_value in _CHOICE_TWINS.items():
                if twin[:5] == str(path[-1])[:5] and twin != path[-1]:
                    yield _replaced(example, (*path[:-1], twin), twin_value)
        if not isinstance(value, dict | list):
            for edge in _EDGE_VALUES:
                yield _replaced(example, path, edge)


_DELETE = object()


def _replaced(example: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(example)
    parent: Any = mutated
    for part in path[:-1]:
        parent = parent[part]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return mutated


def test_the_quick_check_accepts_the_valid_ig_examples() -> None:
    """The shortcut is taken for ordinary valid resources (else it would cost without saving anything)."""
    quick = [e for e in _EXAMPLES if accepts(model_class(e["resourceType"]), e)]  # type: ignore[arg-type]
    assert len(quick) >= len(_EXAMPLES) - 5


@pytest.mark.parametrize("example", _EXAMPLES, ids=lambda e: f"{e['resourceType']}/{e.get('id')}")
def test_the_quick_check_never_accepts_what_the_model_rejects_in_edge_mutations(example: dict[str, Any]) -> None:
    rng = random.Random(example.get("id"))
    mutations = list(_edge_mutations(example))
    for mutated in rng.sample(mutations, min(len(mutations), 150)):
        _assert_quick_implies_model(mutated)


def test_the_quick_check_never_accepts_what_the_model_rejects_in_seeded_fuzz() -> None:
    rng = random.Random(20261126)
    for _ in range(1500):
        _assert_quick_implies_model(_mutate(rng.choice(_EXAMPLES), rng))


@FUZZ
@given(example_with_an_element_replaced())
def test_the_quick_check_never_accepts_what_the_model_rejects_in_replaced_elements(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _assert_quick_implies_model(pair[1])


@FUZZ
@given(resource_like())
def test_the_quick_check_never_accepts_what_the_model_rejects_in_resource_shaped_garbage(body: dict[str, Any]) -> None:
    _assert_quick_implies_model(body)


@pytest.mark.parametrize(("model_type", "body_type"), [("Patient", "Organization"), ("Organization", "Patient")])
def test_the_quick_check_never_accepts_a_body_naming_another_resource_type(model_type: str, body_type: str) -> None:
    model = model_class(model_type)
    assert model is not None
    assert accepts(model, {"resourceType": model_type, "id": "x", "active": True})
    assert not accepts(model, {"resourceType": body_type, "id": "x", "active": True})


@pytest.mark.parametrize(
    "extension",
    [
        {"url": "http://example.org/x", "valueString": "v", "extension": [{"url": "y", "valueString": "w"}]},
        {"url": "http://example.org/x"},
    ],
)
def test_the_quick_check_leaves_ext_1_to_the_datatype_pass(extension: dict[str, Any]) -> None:
    """pydantic accepts an extension with both a value and nested extensions (or neither); ext-1 does not."""
    body = {"resourceType": "Patient", "extension": [extension]}
    model = model_class("Patient")
    assert model is not None
    model.model_validate(body)
    assert not accepts(model, body)
    assert datatype_issues("Patient", body)


def _nested_extensions(levels: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "http://example.org/leaf", "valueString": "x"}
    for _ in range(levels):
        extension = {"url": "http://example.org/node", "extension": [extension]}
    return {"resourceType": "Patient", "extension": [extension]}


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient", "implicitRules": ""},  # uri allows "" in pydantic; FHIR JSON does not
        {"resourceType": "Patient", "language": "\ud800"},
        {"resourceType": "Observation", "status": "final", "code": {"text": "t"}, "valueQuantity": {"value": math.nan}},
        {"resourceType": "Patient", "name": [{}]},
        _nested_extensions(55),  # each level is two deeper: past MAX_DEPTH
    ],
    ids=["empty-uri", "lone-surrogate", "nan", "empty-object", "deep"],
)
def test_the_quick_check_leaves_json_shape_issues_to_pass_1(body: dict[str, Any]) -> None:
    model = model_class(body["resourceType"])
    assert model is not None
    assert not accepts(model, body)
    assert json_shape_issues(body["resourceType"], body)


def test_the_quick_check_accepts_nesting_well_within_the_limit() -> None:
    body = _nested_extensions(20)
    assert accepts(model_class("Patient"), body)  # type: ignore[arg-type]


@pytest.mark.parametrize("levels", range(44, 52))
def test_the_quick_check_agrees_with_pass_1_around_the_nesting_limit(levels: int) -> None:
    body = _nested_extensions(levels)
    if accepts(model_class("Patient"), body):  # type: ignore[arg-type]
        assert json_shape_issues("Patient", body) == []
