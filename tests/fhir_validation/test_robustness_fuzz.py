"""ANY input yields issues, never an unexpected exception (brief rule 1).

A seeded mutation fuzzer over the IG examples (always runs; the hypothesis fuzzers are in
``test_robustness_hypothesis.py``). The contract, shared by both: ``validate_resource`` returns a list of warnings or
raises ``ValidationError`` with a 400/409/422 status and at least one well-formed error issue.
"""

from __future__ import annotations

import copy
import json
import math
import random
from decimal import Decimal
from typing import Any

import pytest

from referral_hub.fhir.validation import (
    Issue,
    ValidationError,
    changed_elements,
    check_update_rights,
    validate_resource,
)
from tests.fhir_validation.validation_helpers import EXAMPLE_FILES


def assert_contract(resource: Any, previous: Any = None, *, workflow: bool = True) -> None:
    failure: ValidationError | None = None
    warnings: list[Issue] = []
    try:
        warnings = validate_resource(resource, previous, workflow=workflow)
    except ValidationError as exc:
        failure = exc
    if failure is not None:
        assert failure.http_status in (400, 409, 422)
        assert failure.errors, failure.issues
        warnings = failure.issues
    assert isinstance(warnings, list)
    for issue in warnings:
        _assert_issue(issue)
        assert failure is not None or not issue.is_error


def _assert_issue(issue: Issue) -> None:
    assert isinstance(issue, Issue)
    assert issue.severity in ("fatal", "error", "warning", "information")
    assert isinstance(issue.code, str)
    assert issue.code
    assert isinstance(issue.expression, str)
    assert issue.expression
    assert isinstance(issue.diagnostics, str)
    assert issue.diagnostics
    json.dumps([issue.code, issue.expression, issue.diagnostics])  # serialisable into an OperationOutcome


# --- seeded mutation fuzzer (always runs) ---------------------------------------------------------------

_EXAMPLES = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLE_FILES]
_ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**80,
    1.5,
    math.nan,
    math.inf,
    "",
    " ",
    "x" * 3000,
    "2020-13-45",
    "{}",
    '{"coding": 1}',
    "Patient/../../etc",
    "\x00\ud800",
    [],
    [None],
    [[]],
    {},
    {"resourceType": "Nope"},
    {"reference": 5},
    {"coding": [{"system": 1, "code": None}]},
    b"bytes",
    {1, 2},
    (1, 2),
    Decimal("1.5"),
    object(),
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(resource: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    mutated = copy.deepcopy(resource)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(mutated) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent: Any = mutated
        for part in path[:-1]:
            parent = parent[part]
        action = rng.random()
        if action < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.3 and isinstance(parent, dict):
            parent[rng.choice([5, "", "_x", "resourceType", "status", "extension"])] = rng.choice(_ODD_VALUES)
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(_ODD_VALUES)) if action < 0.9 else rng.choice(_ODD_VALUES)
    return mutated


@pytest.mark.parametrize("seed", range(8))
def test_mutated_ig_examples_never_raise_unexpected_exceptions(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(250):
        original = rng.choice(_EXAMPLES)
        mutated = _mutate(original, rng)
        assert_contract(mutated, workflow=rng.random() < 0.5)
        assert_contract(original, mutated)  # garbage as the stored previous version
        assert_contract(mutated, original)


@pytest.mark.parametrize("seed", range(4))
def test_update_rights_never_raise_on_garbage(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        old = _mutate(rng.choice(_EXAMPLES), rng)
        new = _mutate(old, rng) if rng.random() < 0.7 else rng.choice(_ODD_VALUES)
        actor = rng.choice(["requester", "owner", "patient", "other"])
        issues = check_update_rights(old, new, actor)
        assert all(i.code == "forbidden" and i.expression.startswith("Task.") for i in issues)
        assert isinstance(changed_elements(old, new), set)
