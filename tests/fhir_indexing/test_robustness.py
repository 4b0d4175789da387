"""Malformed-but-parsed JSON yields fewer values, never an exception (the store indexes on every write)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest

from referral_hub.fhir.indexer import extract_index
from tests.fhir_indexing.ig_examples import example_paths, load_example

# Wrong shapes a JSON document can carry where FHIR expects something else.
ODD_VALUES: list[Any] = [
    None,
    0,
    -1.5,
    True,
    "",
    "x/y/z",
    "2020-99-99",
    [],
    {},
    [None, 3, "a"],
    {"reference": 5, "coding": "not-a-list", "value": {"nested": True}},
    {"coding": [None, {"code": 7}, {"system": ["a"], "code": "ok"}]},
    {"start": 2020, "end": ["x"], "event": "2020"},
    {"family": 1, "given": [None, 2], "line": "no-list"},
    float("nan"),
    "1e999999",
]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*path, index))


def _replaced(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(resource)
    parent: Any = mutated
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return mutated


@pytest.mark.parametrize("path", example_paths(), ids=lambda path: path.stem)
def test_any_element_replaced_by_a_wrong_shape_never_raises(path: Any) -> None:
    resource = load_example(path.stem)
    resource.pop("text", None)  # narrative is not indexed; keeps the run short
    baseline = len(extract_index(resource))
    for position, element_path in enumerate(_paths(resource)):
        if not element_path or element_path == ("resourceType",):
            continue
        for offset in range(3):  # three different odd values per element, rotating through the list
            odd = ODD_VALUES[(position * 3 + offset) % len(ODD_VALUES)]
            values = extract_index(_replaced(resource, element_path, odd))
            assert isinstance(values, list)
    assert baseline > 0


@pytest.mark.parametrize(
    "document",
    [None, [], "Task", 3, {}, {"resourceType": ["Task"]}, {"resourceType": "Unknown", "status": "x"}],
)
def test_documents_that_are_not_supported_resources_have_no_index_values(document: Any) -> None:
    assert extract_index(document) == []  # type: ignore[arg-type]


def test_referral_task_extraction_is_far_below_the_write_budget() -> None:
    """Generous guard (budget: < 150 µs per referral Task, issue 2 scope 8); the real figures are in indexer."""
    task = load_example("Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample")
    extract_index(task)
    runs = 300
    started = time.perf_counter()
    for _ in range(runs):
        extract_index(task)
    per_task = (time.perf_counter() - started) / runs
    assert per_task < 500e-6, f"{per_task * 1e6:.0f} µs per Task"
