"""Assertion helpers shared by the validation tests (a uniquely named module, importable from the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from referral_hub.fhir.validation import Issue, ValidationError, validate_resource

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "shared" / "fhir" / "sdoh-cc-examples"
EXAMPLE_FILES = sorted(p for p in EXAMPLES_DIR.glob("*.json") if not p.name.startswith("_"))

SDOHCC_CS = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
SDC_TEMP = "http://hl7.org/fhir/uv/sdc/CodeSystem/temp"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"


def coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def rejection(resource: Any, previous: dict[str, Any] | None = None, *, workflow: bool = True) -> ValidationError:
    """Validate and return the ValidationError (failing the test if the resource is accepted)."""
    with pytest.raises(ValidationError) as info:
        validate_resource(resource, previous, workflow=workflow)
    return info.value


def errors_at(exc: ValidationError, expression: str) -> list[Issue]:
    return [i for i in exc.errors if i.expression == expression]


def assert_rejected(
    resource: Any,
    status: int,
    expression: str,
    code: str | None = None,
    previous: dict[str, Any] | None = None,
    *,
    workflow: bool = True,
) -> ValidationError:
    """The write is refused with ``status`` and an error at exactly ``expression`` (and ``code`` if given)."""
    exc = rejection(resource, previous, workflow=workflow)
    found = errors_at(exc, expression)
    assert exc.http_status == status, (exc.http_status, exc.issues)
    assert found, f"no error at {expression}: {exc.issues}"
    if code is not None:
        assert code in {i.code for i in found}, found
    return exc
