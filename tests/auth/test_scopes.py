"""SMART scope parsing and enforcement rules (pure functions)."""

from __future__ import annotations

import pytest

from referral_hub.auth.scopes import allows, invalid_scopes, narrow, parse_scope


@pytest.mark.parametrize(
    ("scope", "letters"),
    [
        ("system/Task.cruds", "cruds"),
        ("system/*.rs", "rs"),
        ("system/Task.read", "rs"),
        ("system/Task.write", "cud"),
        ("system/*.*", "cruds"),
        ("system/Patient.c", "c"),
    ],
)
def test_v1_and_v2_scopes_parse_to_interaction_letters(scope: str, letters: str) -> None:
    parsed = parse_scope(scope)
    assert parsed is not None
    assert parsed.letters == frozenset(letters)


@pytest.mark.parametrize(
    "scope",
    ["system/Task.sr", "system/Task.rr", "system/Task.x", "Task.read", "system/task.read", "system/Task.rs?x=1"],
)
def test_out_of_order_unknown_or_granular_scopes_are_not_enforceable(scope: str) -> None:
    assert parse_scope(scope) is None
    assert invalid_scopes(scope) == [scope]


@pytest.mark.parametrize(
    ("scopes", "resource_type", "interaction", "allowed"),
    [
        (["system/Task.rs"], "Task", "read", True),
        (["system/Task.rs"], "Task", "vread", True),
        (["system/Task.rs"], "Task", "history", True),
        (["system/Task.rs"], "Task", "search", True),
        (["system/Task.rs"], "Task", "update", False),
        (["system/Task.rs"], "Patient", "read", False),
        (["system/Task.cu"], "Task", "create", True),
        (["system/Task.cu"], "Task", "read", False),
        (["system/*.read"], "Observation", "search", True),
        (["system/*.cruds"], "AuditEvent", "search", False),
        (["system/AuditEvent.rs"], "AuditEvent", "search", True),
        (["patient/Task.cruds"], "Task", "read", False),
    ],
)
def test_allows_checks_the_interaction_letter(
    scopes: list[str], resource_type: str, interaction: str, allowed: bool
) -> None:
    assert allows(scopes, resource_type, interaction) is allowed


def test_narrow_cuts_requests_down_to_the_registration() -> None:
    assert narrow("system/*.cruds", ["system/Task.rs", "system/Patient.cruds"]) == [
        "system/Task.rs",
        "system/Patient.cruds",
    ]
    assert narrow("system/Task.cruds", ["system/*.rs"]) == ["system/Task.rs"]
    assert narrow("system/AuditEvent.rs", ["system/*.cruds"]) == []
    assert narrow("system/Task.read", ["system/Task.cruds"]) == ["system/Task.rs"]
