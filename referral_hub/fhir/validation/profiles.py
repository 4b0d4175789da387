"""Which SDOHCC rule set applies to a resource (brief rule 2; gravity-sdoh-cc.md §4).

A client does not have to claim a profile in ``meta.profile`` — Gravity partners often don't — so the
content decides too:

* Task: claims SDOHCC-TaskForPatient, or its code is a patient task code → **patient** Task; claims
  SDOHCC-TaskForReferralManagement, or its code is ``task-code#fulfill`` → **referral** Task (an explicit
  claim beats the code; the patient claim beats a ``fulfill`` code). Any other Task is checked as plain R4.
* ServiceRequest / Procedure / Condition / Goal: the SDOHCC profile is claimed, or a category coding uses
  the SDOHCC code system with an SDOH domain code (what makes it an "SDOH" artifact in the IG).
* Observation: claims SDOHCC-ObservationScreeningResponse or -Assessment, or has an SDOH domain category.
  (Personal-characteristic Observations use a workflow code of the same system and are pass-through data.)
* Consent: only when SDOHCC-Consent is claimed — ``v3-ActCode#IDSCL`` alone is generic HL7 vocabulary, not
  a sign of SDOHCC content. Base R4 invariants (ppc-1…5) apply to every Consent.
"""

from __future__ import annotations

from typing import Any, Literal

from . import codes
from .access import claimed_profiles, codings

TaskKind = Literal["referral", "patient", "other"]


def task_kind(task: dict[str, Any]) -> TaskKind:
    claims = claimed_profiles(task)
    if codes.PROFILE_PATIENT_TASK in claims:
        return "patient"
    if codes.PROFILE_REFERRAL_TASK in claims:
        return "referral"
    task_codings = set(codings(task.get("code")))
    if task_codings & codes.PATIENT_TASK_CODES:
        return "patient"
    if codes.FULFILL in task_codings:
        return "referral"
    return "other"


def sdoh_category_codes(resource: dict[str, Any]) -> list[str]:
    """SDOH domain codes in ``category`` (a CodeableConcept in Procedure, a list elsewhere)."""
    category = resource.get("category")
    concepts = category if isinstance(category, list) else [category]
    return [
        code
        for concept in concepts
        for system, code in codings(concept)
        if system == codes.CS_SDOHCC and code in codes.SDOH_CATEGORIES
    ]


def uses_sdohcc_category_system(resource: dict[str, Any]) -> bool:
    category = resource.get("category")
    concepts = category if isinstance(category, list) else [category]
    return any(system == codes.CS_SDOHCC for concept in concepts for system, _ in codings(concept))


def is_sdohcc(resource: dict[str, Any], profile: str) -> bool:
    """The resource claims ``profile`` or is recognisably SDOHCC content (an SDOHCC category coding)."""
    return profile in claimed_profiles(resource) or uses_sdohcc_category_system(resource)


def is_sdohcc_observation(resource: dict[str, Any]) -> bool:
    claims = claimed_profiles(resource)
    if {codes.PROFILE_OBS_SCREENING_RESPONSE, codes.PROFILE_OBS_ASSESSMENT} & claims:
        return True
    return bool(sdoh_category_codes(resource))


def is_sdohcc_consent(resource: dict[str, Any]) -> bool:
    return codes.PROFILE_CONSENT in claimed_profiles(resource)
