"""Validation results: the `Issue` value object and the `ValidationError` raised on failure.

Issues mirror one ``OperationOutcome.issue`` each so the REST layer can serialise them without
translation. The HTTP status is decided by the *stage* that failed, not by the issue code, because the
same code (e.g. ``required``) means "malformed R4" (400) when fhir.resources reports it and "profile rule"
(422) when an SDOHCC cardinality reports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["fatal", "error", "warning", "information"]

# HTTP statuses per validation stage (documented in the package docstring).
HTTP_STRUCTURE = 400  # not JSON-FHIR R4: wrong shape/datatype/cardinality, unknown element or type
HTTP_PROFILE = 422  # parses as R4 but breaks a required binding, an invariant or an SDOHCC profile rule
HTTP_TRANSITION = 409  # well-formed, but the status change is not an edge of the IG state machine


@dataclass(frozen=True)
class Issue:
    """One problem found in a resource (maps 1:1 onto an OperationOutcome.issue)."""

    severity: Severity
    # OperationOutcome issue-type: "structure", "required", "value", "invariant", "code-invalid",
    # "business-rule", "conflict", "not-supported", "processing", "forbidden"
    code: str
    expression: str  # FHIRPath of the failing element, e.g. "Task.statusReason.text"
    diagnostics: str  # a clear English sentence for a human

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")


class ValidationError(Exception):
    """Raised when a resource must not be written.

    ``issues`` holds every error (and, after them, any warnings found on the way, so one OperationOutcome
    can carry all of them); ``http_status`` is 400, 422 or 409 (see the module constants).
    """

    def __init__(self, issues: Iterable[Issue], http_status: int) -> None:
        self.issues: list[Issue] = sorted(issues, key=lambda i: not i.is_error)
        self.http_status: int = http_status
        first = next((i for i in self.issues if i.is_error), None)
        summary = f"{first.expression}: {first.diagnostics}" if first else "invalid resource"
        super().__init__(f"HTTP {http_status}: {summary}")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]


def error(code: str, expression: str, diagnostics: str) -> Issue:
    return Issue("error", code, expression, diagnostics)


def warning(code: str, expression: str, diagnostics: str) -> Issue:
    return Issue("warning", code, expression, diagnostics)


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(i.is_error for i in issues)
