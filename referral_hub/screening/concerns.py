"""Health concerns after a screening: plain-language domain labels, confirm or dismiss a Condition, record a Goal.

Decisions (gravity-sdoh-cc.md §4.6–4.7, screening-instruments.md §6.1):

* **Confirm** — the IG: an auto-generated concern's ``verificationStatus`` "should be changed to 'confirmed' only
  after review and concurrence by the provider and patient". Confirming sets ``confirmed`` and moves the
  Condition from the health-concern category to ``problem-list-item`` (US Core Condition Problems and Health
  Concerns allows either; a confirmed SDOH problem belongs on the problem list, where EHRs and payers look). The
  ``sdoh`` and domain categories stay, so SDOH-Con-2/-3 still hold; the earlier version keeps the health-concern
  stage in the history.
* **Dismiss** — ``refuted``, not ``entered-in-error``. R4 ``condition-ver-status``: *refuted* = "ruled out by
  … clinical evidence", *entered-in-error* = "the statement was entered in error and is not valid". A dismissed
  concern was proposed correctly from the answers and then ruled out by staff talking with the patient: that is a
  clinical judgement worth keeping (it explains why no referral followed), not a data-entry mistake. Answers that
  were recorded wrongly are fixed by amending the screening, which re-extracts. ``clinicalStatus`` becomes
  ``inactive`` (the concern is not active), which con-3..5 allow with ``refuted``.
* **Goal** — SDOHCC Goal: ``lifecycleStatus`` active, the Condition's SDOH categories, ``description`` from a
  short per-domain list, ``addresses`` → the Condition, ``startDate`` today (US Core asks for startDate or
  target.dueDate) and an optional ``target.dueDate``. Only "Food security" (SNOMED CT 1078229009, the IG's Goal
  example) is a verified code; the other descriptions are text only, which the extensible US Core Goal Codes
  binding allows until the VSAC "… Goals" value sets can be expanded (they need a UMLS licence).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import LazyString

from referral_hub.i18n import _l

SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
PROFILE_GOAL = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Goal"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
SNOMED = "http://snomed.info/sct"

#: Plain-language names of the screening domains (rule-file domain keys and SDOHCC category codes), product.md
#: "plain language": what staff would say to the patient.
DOMAIN_LABELS: dict[str, LazyString] = {
    "food-insecurity": _l("Food: not always enough to eat"),
    "housing-instability": _l("Housing: at risk of losing their home"),
    "homelessness": _l("Housing: no steady place to live"),
    "inadequate-housing": _l("Housing: problems with the home (pests, mold, heat, safety)"),
    "transportation-insecurity": _l("Transportation: trouble getting to appointments or work"),
    "utility-insecurity": _l("Utilities: shut-off notices or risk of losing power, gas or water"),
    "interpersonal-safety": _l("Safety: may be hurt or threatened by someone"),
    "intimate-partner-violence": _l("Safety: partner violence"),
    "financial-insecurity": _l("Money: hard to pay for basics"),
    "employment-status": _l("Work: wants help finding or keeping a job"),
    "education-training": _l("School: wants help with school or training"),
    "educational-attainment": _l("School: wants help with school or training"),
    "social-connection": _l("Loneliness or isolation"),
    "stress": _l("Stress"),
    "mental-health": _l("Mood: signs of depression"),
    "substance-use": _l("Alcohol, tobacco or drug use"),
    "physical-activity": _l("Physical activity: less than recommended"),
    "disability-status": _l("Needs help with daily activities"),
    "language-access": _l("Language: speaks another language at home"),
}

#: How staff see a Condition's verification status.
STATUS_LABELS: dict[str, LazyString] = {
    "unconfirmed": _l("Not yet reviewed"),
    "provisional": _l("Not yet reviewed"),
    "confirmed": _l("Confirmed with the patient"),
    "refuted": _l("Dismissed: not a need"),
    "entered-in-error": _l("Recorded by mistake"),
}


@dataclass(frozen=True)
class GoalOption:
    """One goal staff can pick: ``text`` is stored (English, the data language); ``label`` is shown translated."""

    key: str
    text: str
    label: LazyString
    coding: Mapping[str, str] | None = None


_GENERIC_GOALS = (GoalOption("need-met", "Need is met", _l("Need is met")),)
#: A short list per SDOHCC category (issue 4 scope 5: "description from a small per-domain list").
GOAL_OPTIONS: dict[str, tuple[GoalOption, ...]] = {
    "food-insecurity": (
        GoalOption(
            "food-security",
            "Food security",
            _l("Has enough food (food security)"),
            {"system": SNOMED, "code": "1078229009", "display": "Food security"},
        ),
        GoalOption("food-benefits", "Enrolled in food assistance benefits", _l("Gets food assistance benefits")),
    ),
    "housing-instability": (
        GoalOption("housing-stable", "Stable housing", _l("Keeps a stable home")),
        GoalOption("housing-rent", "Able to pay rent or mortgage", _l("Can pay rent or mortgage")),
    ),
    "homelessness": (
        GoalOption("housing-safe-place", "Has a safe place to live", _l("Has a safe place to live")),
        GoalOption("housing-stable", "Stable housing", _l("Keeps a stable home")),
    ),
    "inadequate-housing": (
        GoalOption("housing-repaired", "Safe and healthy home", _l("Lives in a safe, healthy home")),
    ),
    "transportation-insecurity": (
        GoalOption("transport-reliable", "Reliable transportation", _l("Has reliable transportation")),
    ),
    "utility-insecurity": (GoalOption("utilities-on", "Utilities stay connected", _l("Keeps utilities connected")),),
    "financial-insecurity": (GoalOption("money-basics", "Able to pay for basic needs", _l("Can pay for basic needs")),),
    "employment-status": (GoalOption("employment", "Has employment", _l("Has a job")),),
    "social-connection": (GoalOption("connected", "Socially connected", _l("Feels connected to other people")),),
}


def domain_label(key: str, fallback: str | None = None) -> str:
    """The plain-language label of a domain, or ``fallback`` (the rule file's text) for a custom instrument."""
    label = DOMAIN_LABELS.get(key)
    return str(label) if label is not None else (fallback or key)


def sdoh_categories(condition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Condition's SDOHCC category codings (its domains)."""
    return [
        dict(coding)
        for concept in condition.get("category", []) or []
        for coding in concept.get("coding", []) or []
        if coding.get("system") == SDOHCC_CODES
    ]


def goal_options(condition: Mapping[str, Any]) -> list[GoalOption]:
    options: list[GoalOption] = []
    for coding in sdoh_categories(condition):
        for option in GOAL_OPTIONS.get(str(coding.get("code")), ()):
            if option.key not in {o.key for o in options}:
                options.append(option)
    return options + [o for o in _GENERIC_GOALS if o.key not in {x.key for x in options}]


def verification(condition: Mapping[str, Any]) -> str:
    for coding in (condition.get("verificationStatus") or {}).get("coding", []) or []:
        if coding.get("system") == CONDITION_VER_STATUS:
            return str(coding.get("code"))
    return "unconfirmed"


def _without_concern_kind(categories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = {(US_CORE_CONDITION_CATEGORY, "health-concern"), (CONDITION_CATEGORY, "problem-list-item")}
    kept = []
    for concept in categories:
        codings = [c for c in concept.get("coding", []) or [] if (c.get("system"), c.get("code")) not in kinds]
        if codings:
            kept.append({**concept, "coding": codings})
    return kept


def confirmed(condition: Mapping[str, Any]) -> dict[str, Any]:
    """The Condition confirmed with the patient and moved to the problem list (see module docstring)."""
    body = {k: v for k, v in condition.items() if k != "meta"}
    body["meta"] = {k: v for k, v in (condition.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    body["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": "active", "display": "Active"}]}
    body["verificationStatus"] = {
        "coding": [{"system": CONDITION_VER_STATUS, "code": "confirmed", "display": "Confirmed"}]
    }
    problem = {"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item", "display": "Problem List Item"}]}
    body["category"] = [problem, *_without_concern_kind(list(condition.get("category", []) or []))]
    return body


def refuted(condition: Mapping[str, Any], reason: str = "") -> dict[str, Any]:
    """The Condition ruled out after talking with the patient; an optional reason becomes a note."""
    body = {k: v for k, v in condition.items() if k != "meta"}
    body["meta"] = {k: v for k, v in (condition.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    body["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": "inactive", "display": "Inactive"}]}
    body["verificationStatus"] = {"coding": [{"system": CONDITION_VER_STATUS, "code": "refuted", "display": "Refuted"}]}
    if reason.strip():
        body["note"] = [*condition.get("note", []), {"text": reason.strip()}]
    return body


def goal_body(condition: Mapping[str, Any], option: GoalOption, today: date, due: date | None = None) -> dict[str, Any]:
    """An SDOHCC Goal for ``condition`` (subject, categories and ``addresses`` taken from it)."""
    description: dict[str, Any] = {"text": option.text}
    if option.coding:
        description["coding"] = [dict(option.coding)]
    goal: dict[str, Any] = {
        "resourceType": "Goal",
        "meta": {"profile": [PROFILE_GOAL]},
        "lifecycleStatus": "active",
        "category": [{"coding": [c]} for c in sdoh_categories(condition)],
        "description": description,
        "subject": dict(condition["subject"]),
        "startDate": today.isoformat(),
        "addresses": [{"reference": f"Condition/{condition['id']}"}],
    }
    if not goal["category"]:
        del goal["category"]
    if due is not None:
        goal["target"] = [{"dueDate": due.isoformat()}]
    return goal


def goal_label(goal: Mapping[str, Any]) -> str:
    """The translated label of a stored Goal's description when it is one of ours, else its text."""
    text = (goal.get("description") or {}).get("text", "")
    for option in (*_GENERIC_GOALS, *(o for opts in GOAL_OPTIONS.values() for o in opts)):
        if option.text == text:
            return str(option.label)
    return str(text)


__all__ = [
    "DOMAIN_LABELS",
    "GOAL_OPTIONS",
    "STATUS_LABELS",
    "GoalOption",
    "confirmed",
    "domain_label",
    "goal_body",
    "goal_label",
    "goal_options",
    "refuted",
    "sdoh_categories",
    "verification",
]
