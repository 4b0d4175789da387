"""The API the lead engineer codes against (brief: 'exactly this')."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import referral_hub.fhir.validation as validation
from referral_hub.fhir.validation import Issue, ValidationError


def test_package_exports_exactly_the_agreed_names() -> None:
    assert set(validation.__all__) == {
        "Issue",
        "ValidationError",
        "SUPPORTED_RESOURCE_TYPES",
        "validate_resource",
        "changed_elements",
        "check_update_rights",
    }


def test_issue_is_a_frozen_dataclass_with_the_four_fields() -> None:
    issue = Issue("error", "required", "Task.focus", "Task.focus is required.")

    assert [f.name for f in dataclasses.fields(Issue)] == ["severity", "code", "expression", "diagnostics"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.code = "value"  # type: ignore[misc]


def test_validation_error_carries_issues_and_http_status() -> None:
    warning = Issue("warning", "business-rule", "Task.note", "fyi")
    err = Issue("error", "required", "Task.focus", "Task.focus is required.")

    exc = ValidationError([warning, err], 422)

    assert exc.http_status == 422
    assert exc.issues == [err, warning]  # errors first
    assert exc.errors == [err]
    assert isinstance(exc, Exception)


def test_validate_resource_signature_has_keyword_only_workflow() -> None:
    params = inspect.signature(validation.validate_resource).parameters

    assert list(params) == ["resource", "previous", "workflow"]
    assert params["previous"].default is None
    assert params["workflow"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["workflow"].default is True
