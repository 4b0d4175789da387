"""Exceptions raised by the ``questionnaires`` package.

Two families, because they reach two different audiences:

* :class:`InstrumentError` is about *our* data — a Questionnaire or rule table that is
  inconsistent.  It reaches an administrator (``referral-hub questionnaires load``), so it
  carries every problem found at once, as plain sentences.
* :class:`ResponseError` is about a *client's* QuestionnaireResponse.  It reaches an API
  client or a form, so every issue carries the FHIRPath expression of the offending element,
  ready to become an ``OperationOutcome.issue.expression``.
"""

from __future__ import annotations


class QuestionnairesError(Exception):
    """Base class of every error raised by this package."""


class InstrumentError(QuestionnairesError):
    """A Questionnaire or its rule table is invalid; ``messages`` lists every problem found."""

    def __init__(self, messages: list[str]) -> None:
        self.messages: list[str] = list(messages)
        super().__init__("invalid instrument:\n" + "\n".join(f"- {m}" for m in self.messages))


class InstrumentNotFound(QuestionnairesError, LookupError):
    """No loaded instrument has the requested canonical URL (and version)."""


class ResponseError(QuestionnairesError):
    """A QuestionnaireResponse cannot be scored; nothing was produced from it.

    ``issues`` holds ``(FHIRPath expression, message)`` pairs, e.g.
    ``("QuestionnaireResponse.item[2].answer[0]", "answer LA1-1 is not in the answer list of /88122-7")``.
    """

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues: list[tuple[str, str]] = list(issues)
        super().__init__("; ".join(f"{expr}: {msg}" for expr, msg in self.issues))

    def operation_outcome(self) -> dict:
        """Render the issues as a FHIR R4 OperationOutcome (severity error, code invalid)."""
        return {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "error", "code": "invalid", "diagnostics": msg, "expression": [expr]}
                for expr, msg in self.issues
            ],
        }
