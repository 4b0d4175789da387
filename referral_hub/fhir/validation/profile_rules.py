"""Stage 2 (HTTP 422) rules for the non-Task SDOHCC profiles and a few base R4 invariants.

gravity-sdoh-cc.md §4.3 ServiceRequest, §4.4 Consent, §4.5 Procedure, §4.6 Condition, §4.7 Goal,
§4.8/4.9 Observation. Which resources get the SDOHCC rules is decided in ``profiles.py``.

Not enforced (documented gaps): the VSAC "additional bindings" per SDOH domain (§7.4, expansions need a
UMLS licence), US Core code bindings (US Core Procedure/Condition codes), and "must support".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import codes
from .access import as_list, claimed_profiles, codings, reference_type
from .issues import Issue, error, warning
from .profiles import is_sdohcc, is_sdohcc_consent, is_sdohcc_observation


def _category_concepts(resource: dict[str, Any]) -> list[tuple[str, object]]:
    rt = resource.get("resourceType")
    category = resource.get("category")
    if isinstance(category, list):
        return [(f"{rt}.category[{i}]", c) for i, c in enumerate(category)]
    if category is not None:
        return [(f"{rt}.category", category)]
    return []


def sdoh_category_issues(resource: dict[str, Any]) -> list[Issue]:
    """The SDOHCC category slice is bound (required) to SDOHCC-ValueSetSDOHCategory."""
    issues: list[Issue] = []
    for where, concept in _category_concepts(resource):
        for j, (system, code) in enumerate(codings(concept)):
            if system == codes.CS_SDOHCC and code not in codes.SDOH_CATEGORIES:
                issues.append(
                    error(
                        "code-invalid",
                        f"{where}.coding[{j}].code",
                        f"'{code}' is not an SDOH category (SDOHCC-ValueSetSDOHCategory).",
                    )
                )
    return issues


def _required(resource: dict[str, Any], element: str, profile: str) -> list[Issue]:
    if resource.get(element) is None:
        rt = resource.get("resourceType")
        return [error("required", f"{rt}.{element}", f"{rt}.{element} is required by {profile}.")]
    return []


def _prohibited(resource: dict[str, Any], elements: tuple[str, ...], profile: str) -> list[Issue]:
    rt = resource.get("resourceType")
    return [
        error("structure", f"{rt}.{e}", f"{rt}.{e} is not allowed by {profile}.")
        for e in elements
        if resource.get(e) is not None
    ]


def _reference_types(resource: dict[str, Any], element: str, allowed: tuple[str, ...], profile: str) -> list[Issue]:
    rt = resource.get("resourceType")
    value = resource.get(element)
    refs = [(f"{rt}.{element}[{i}]", r) for i, r in enumerate(value)] if isinstance(value, list) else []
    if isinstance(value, dict):
        refs = [(f"{rt}.{element}", value)]
    issues = []
    for where, ref in refs:
        target = reference_type(ref)
        if target is not None and target not in allowed:
            issues.append(
                error("value", where, f"{where} must reference {' or '.join(allowed)} in {profile}, not {target}.")
            )
    return issues


# --- ServiceRequest (§4.3) -------------------------------------------------------------------------------


def service_request_issues(sr: dict[str, Any]) -> list[Issue]:
    if not is_sdohcc(sr, codes.PROFILE_SERVICE_REQUEST):
        return []
    p = "SDOHCC-ServiceRequest"
    issues = _required(sr, "code", p)
    issues += _reference_types(sr, "subject", ("Patient", "Group", "Location"), p)
    issues += _reference_types(sr, "basedOn", ("ServiceRequest", "CarePlan"), p)
    issues += _prohibited(sr, ("specimen", "bodySite"), p)
    issues += sdoh_category_issues(sr)
    based_on_sr = any(reference_type(r) == "ServiceRequest" for r in as_list(sr.get("basedOn")))
    if based_on_sr and sr.get("intent") != "filler-order":
        # §3.5 / §12: the IG's own sub-referral examples say original-order; tolerate, but flag it.
        issues.append(
            warning(
                "business-rule",
                "ServiceRequest.intent",
                "A ServiceRequest based on another ServiceRequest (a coordination platform's sub-referral) "
                "should have intent 'filler-order'.",
            )
        )
    return issues


# --- Procedure (§4.5) ------------------------------------------------------------------------------------


def _performed(resource: dict[str, Any]) -> bool:
    return any(k.startswith("performed") for k in resource)


def procedure_issues(proc: dict[str, Any]) -> list[Issue]:
    claims = claimed_profiles(proc)
    sdohcc = is_sdohcc(proc, codes.PROFILE_PROCEDURE)
    issues: list[Issue] = []
    if proc.get("status") in ("completed", "in-progress") and not _performed(proc):
        text = "A completed or in-progress Procedure must say when it was performed (performed[x], us-core-7)."
        if sdohcc or codes.US_CORE_PROCEDURE in claims:
            issues.append(error("invariant", "Procedure.performed[x]", text))
        else:
            issues.append(warning("invariant", "Procedure.performed[x]", text))
    if not sdohcc:
        return issues
    p = "SDOHCC-Procedure"
    issues += _required(proc, "code", p)
    issues += _reference_types(proc, "subject", ("Patient",), p)
    issues += _reference_types(proc, "basedOn", ("ServiceRequest", "CarePlan"), p)
    issues += sdoh_category_issues(proc)
    return issues


# --- Condition (§4.6) ------------------------------------------------------------------------------------

_CONDITION_KINDS = frozenset({"encounter-diagnosis", "problem-list-item", "health-concern"})
_CONDITION_KIND_SYSTEMS = frozenset({codes.CS_CONDITION_CATEGORY, codes.CS_US_CORE_CONDITION_CATEGORY})


def condition_issues(cond: dict[str, Any]) -> list[Issue]:
    issues = _condition_base_invariants(cond)
    if not is_sdohcc(cond, codes.PROFILE_CONDITION):
        return issues
    p = "SDOHCC-Condition"
    issues += _required(cond, "code", p)
    issues += _reference_types(cond, "subject", ("Patient",), p)
    issues += _prohibited(cond, ("bodySite", "stage"), p)
    issues += sdoh_category_issues(cond)
    categories = [c for c in as_list(cond.get("category")) if isinstance(c, dict)]
    all_codings = [pair for c in categories for pair in codings(c)]
    if not any(s in _CONDITION_KIND_SYSTEMS and c in _CONDITION_KINDS for s, c in all_codings):
        issues.append(
            error(
                "invariant",
                "Condition.category",
                "An SDOHCC Condition needs a category of encounter-diagnosis, problem-list-item or "
                "health-concern (SDOH-Con-2).",
            )
        )
    if (codes.CS_US_CORE_CATEGORY, "sdoh") not in all_codings:
        issues.append(
            error(
                "invariant",
                "Condition.category",
                f"An SDOHCC Condition needs the category {codes.CS_US_CORE_CATEGORY}#sdoh (SDOH-Con-3).",
            )
        )
    elif len(categories) < 2:
        issues.append(
            error(
                "required",
                "Condition.category",
                "An SDOHCC Condition needs at least two categories (its kind and 'sdoh').",
            )
        )
    asserter_devices = [
        e
        for e in as_list(cond.get("extension"))
        if isinstance(e, dict) and e.get("url") == codes.EXT_CONDITION_ASSERTER
    ]
    if len(asserter_devices) > 1 or (asserter_devices and cond.get("asserter") is not None):
        issues.append(
            error(
                "invariant",
                "Condition.asserter",
                "Give at most one asserter: either Condition.asserter or the asserterDevice extension (SDOH-Con-1).",
            )
        )
    return issues


def _condition_base_invariants(cond: dict[str, Any]) -> list[Issue]:
    """R4 con-3 (warning in R4), con-4 and con-5."""
    issues: list[Issue] = []
    clinical = {c for s, c in codings(cond.get("clinicalStatus")) if s == codes.CS_CONDITION_CLINICAL}
    verification = {c for s, c in codings(cond.get("verificationStatus")) if s == codes.CS_CONDITION_VER_STATUS}
    abated = any(k.startswith("abatement") for k in cond)
    if abated and clinical and not clinical & {"inactive", "resolved", "remission"}:
        issues.append(
            error(
                "invariant",
                "Condition.clinicalStatus",
                "An abated Condition must have clinicalStatus inactive, resolved or remission (con-4).",
            )
        )
    if "entered-in-error" in verification and cond.get("clinicalStatus") is not None:
        issues.append(
            error(
                "invariant",
                "Condition.clinicalStatus",
                "A Condition entered in error must not have a clinicalStatus (con-5).",
            )
        )
    problem_list = any(c == "problem-list-item" for cat in as_list(cond.get("category")) for _, c in codings(cat))
    if problem_list and cond.get("clinicalStatus") is None and "entered-in-error" not in verification:
        issues.append(
            warning(
                "invariant",
                "Condition.clinicalStatus",
                "A problem-list Condition should have a clinicalStatus (con-3).",
            )
        )
    return issues


# --- Consent (§4.4) --------------------------------------------------------------------------------------

_PATIENT_SCOPES = frozenset({"patient-privacy", "research", "adr", "treatment"})


def consent_issues(consent: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    # ppc-1 (base R4): a policy or a policyRule.
    if consent.get("policy") is None and consent.get("policyRule") is None:
        issues.append(
            error(
                "invariant",
                "Consent.policyRule",
                "A Consent must name the policy it is based on: Consent.policy or Consent.policyRule (ppc-1).",
            )
        )
    # ppc-2..5 (base R4): privacy, research, ADR and treatment consents are about a patient.
    scopes = {c for _, c in codings(consent.get("scope"))}
    if scopes & _PATIENT_SCOPES and consent.get("patient") is None:
        issues.append(
            error(
                "invariant",
                "Consent.patient",
                "A privacy, research, advance-directive or treatment Consent must name the patient (ppc-2…5).",
            )
        )
    if not is_sdohcc_consent(consent):
        return issues
    p = "SDOHCC-Consent"
    categories = as_list(consent.get("category"))
    if not any((codes.CS_V3_ACT_CODE, "IDSCL") in codings(c) for c in categories):
        issues.append(
            error(
                "required",
                "Consent.category",
                f"An SDOHCC Consent needs the category {codes.CS_V3_ACT_CODE}#IDSCL (information disclosure).",
            )
        )
    if consent.get("patient") is None:
        issues += _required(consent, "patient", p)
    issues += _required(consent, "dateTime", p)
    organizations = as_list(consent.get("organization"))
    if len(organizations) != 1:
        issues.append(
            error(
                "required",
                "Consent.organization",
                "An SDOHCC Consent must name exactly one organization (the custodian that discloses).",
            )
        )
    if consent.get("sourceAttachment") is None and consent.get("sourceReference") is None:
        issues.append(
            error(
                "required",
                "Consent.source[x]",
                "An SDOHCC Consent needs its source: the signed form (sourceAttachment) or a reference to it.",
            )
        )
    issues += _reference_types(consent, "patient", ("Patient",), p)
    issues += _reference_types(consent, "organization", ("Organization",), p)
    return issues


# --- Goal (§4.7) -----------------------------------------------------------------------------------------


def goal_issues(goal: dict[str, Any]) -> list[Issue]:
    if not is_sdohcc(goal, codes.PROFILE_GOAL):
        return []
    issues = _reference_types(goal, "subject", ("Patient",), "SDOHCC-Goal")
    issues += sdoh_category_issues(goal)
    return issues


# --- Observation (§4.8, §4.9) ----------------------------------------------------------------------------


def observation_issues(obs: dict[str, Any]) -> list[Issue]:
    if not is_sdohcc_observation(obs):
        return []
    claims = claimed_profiles(obs)
    issues: list[Issue] = []
    all_codings = [pair for c in as_list(obs.get("category")) for pair in codings(c)]
    if (codes.CS_US_CORE_CATEGORY, "sdoh") not in all_codings:
        issues.append(
            error(
                "invariant",
                "Observation.category",
                f"An SDOH Observation needs the category {codes.CS_US_CORE_CATEGORY}#sdoh (SDOH-Obs-4).",
            )
        )
    if obs.get("subject") is None:
        issues.append(error("required", "Observation.subject", "An SDOH Observation must have a subject."))
    issues += _reference_types(obs, "subject", ("Patient", "Group"), "SDOHCC Observation")
    if codes.PROFILE_OBS_SCREENING_RESPONSE in claims:
        status = obs.get("status")
        if isinstance(status, str) and status not in codes.SDOHCC_OBSERVATION_STATUS:
            issues.append(
                error(
                    "code-invalid",
                    "Observation.status",
                    "A screening response's status must be final, corrected, entered-in-error or unknown "
                    "(SDOHCC-ValueSetObservationStatus).",
                )
            )
        if not any(k.startswith("effective") for k in obs):
            issues.append(
                error(
                    "required",
                    "Observation.effective[x]",
                    "A screening response must say when it applies (effective[x]).",
                )
            )
    issues += sdoh_category_issues(obs)
    return issues


RULES: dict[str, Callable[[dict[str, Any]], list[Issue]]] = {
    "ServiceRequest": service_request_issues,
    "Procedure": procedure_issues,
    "Condition": condition_issues,
    "Consent": consent_issues,
    "Goal": goal_issues,
    "Observation": observation_issues,
}


def profile_issues(resource: dict[str, Any]) -> list[Issue]:
    rule = RULES.get(str(resource.get("resourceType")))
    return rule(resource) if rule else []
