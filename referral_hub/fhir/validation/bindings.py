"""Required value-set bindings of base R4 that fhir.resources does not check (HTTP 422, ``code-invalid``).

Why 422 and not 400: a resource with ``"status": "bogus"`` *parses* as R4 (the datatype is right); it fails a
terminology rule, which FHIR's RESTful API groups with profile and business rules under
422 Unprocessable Entity. Keeping every terminology failure at 422 keeps the rule simple for clients:
400 = "fix your JSON", 422 = "fix your content".
"""

from __future__ import annotations

from typing import Any

from .codes import NARRATIVE_STATUS, REQUIRED_CODE_BINDINGS, REQUIRED_CONCEPT_BINDINGS
from .issues import Issue, error


def binding_issues(resource_type: str, resource: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    for (rt, element), (vs_name, codes) in REQUIRED_CODE_BINDINGS.items():
        if rt != resource_type:
            continue
        value = resource.get(element)
        if isinstance(value, str) and value not in codes:
            issues.append(_bad_code(f"{rt}.{element}", value, vs_name, codes))
    for (rt, element), (vs_name, system, codes) in REQUIRED_CONCEPT_BINDINGS.items():
        if rt != resource_type:
            continue
        concept = resource.get(element)
        if isinstance(concept, dict):
            issues.extend(_concept_issues(f"{rt}.{element}", concept, vs_name, system, codes))
    text = resource.get("text")
    if isinstance(text, dict) and isinstance(text.get("status"), str) and text["status"] not in NARRATIVE_STATUS:
        issues.append(_bad_code(f"{resource_type}.text.status", text["status"], "NarrativeStatus", NARRATIVE_STATUS))
    return issues


def _bad_code(expression: str, value: str, vs_name: str, codes: frozenset[str]) -> Issue:
    shown = value if len(value) <= 64 else value[:64] + "…"
    allowed = ", ".join(sorted(codes))
    return error(
        "code-invalid",
        expression,
        f"'{shown}' is not a valid code for {expression} (required value set {vs_name}: {allowed}).",
    )


def _concept_issues(
    expression: str, concept: dict[str, Any], vs_name: str, system: str, codes: frozenset[str]
) -> list[Issue]:
    codings = concept.get("coding")
    own = [c for c in codings if isinstance(c, dict) and c.get("system") == system] if isinstance(codings, list) else []
    if not own:
        return [
            error(
                "code-invalid",
                expression,
                f"{expression} needs a coding from {system} (required value set {vs_name}).",
            )
        ]
    bad = [c.get("code") for c in own if c.get("code") not in codes]
    if bad:
        return [_bad_code(f"{expression}.coding.code", str(bad[0]), vs_name, codes)]
    return []
