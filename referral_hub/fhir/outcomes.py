"""OperationOutcome construction and the exception every FHIR-facing error becomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutcomeIssue:
    """One ``OperationOutcome.issue``; ``expression`` names the failing element when there is one."""

    severity: str
    code: str
    diagnostics: str
    expression: str | None = None

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


class FhirError(Exception):
    """An error answered with an OperationOutcome and ``status``."""

    def __init__(self, status: int, issues: Sequence[OutcomeIssue], headers: dict[str, str] | None = None) -> None:
        super().__init__(issues[0].diagnostics if issues else str(status))
        self.status = status
        self.issues = list(issues)
        self.headers = headers or {}

    @classmethod
    def single(
        cls, status: int, code: str, diagnostics: str, expression: str | None = None, severity: str = "error"
    ) -> FhirError:
        return cls(status, [OutcomeIssue(severity, code, diagnostics, expression)])

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def operation_outcome(issues: Iterable[OutcomeIssue]) -> dict[str, Any]:
    """An OperationOutcome resource for ``issues`` (at least one issue, as R4 requires)."""
    rendered = [issue.to_fhir() for issue in issues]
    if not rendered:
        rendered = [{"severity": "information", "code": "informational", "diagnostics": "All OK"}]
    return {"resourceType": "OperationOutcome", "issue": rendered}
