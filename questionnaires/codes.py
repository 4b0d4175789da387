"""Code systems, profile URLs and code tables shared by scoring and extraction.

Everything here is a constant of the standards (FHIR, US Core, the Gravity SDOHCC IG) except the
health-concern code table, which is *data* (``terminology/condition-codes.yaml``): ICD-10-CM changes every
October, so the codes are versioned in that file rather than in Python
(``screening-instruments.md`` §9 item 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
UCUM = "http://unitsofmeasure.org"

PROFILE_OSR = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ObservationScreeningResponse"
PROFILE_CONDITION = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-Condition"
EXT_CONDITION_ASSERTER = (
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ExtensionConditionAsserter"
)

# Questionnaire / QuestionnaireResponse extensions this package reads.
EXT_TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
EXT_ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
EXT_DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
EXT_CALCULATED_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
EXT_QUESTIONNAIRE_UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"

# The SDOHCC "SDOH category" value set (gravity-sdoh-cc.md §7.1; STU3 adds protective-factor).
SDOHCC_CATEGORIES: dict[str, str] = {
    "sdoh-category-unspecified": "SDOH Category Unspecified",
    "food-insecurity": "Food Insecurity",
    "housing-instability": "Housing Instability",
    "homelessness": "Homelessness",
    "inadequate-housing": "Inadequate Housing",
    "transportation-insecurity": "Transportation Insecurity",
    "financial-insecurity": "Financial Insecurity",
    "material-hardship": "Material Hardship",
    "educational-attainment": "Educational Attainment",
    "employment-status": "Employment Status",
    "veteran-status": "Veteran Status",
    "stress": "Stress",
    "social-connection": "Social Connection",
    "intimate-partner-violence": "Intimate Partner Violence",
    "elder-abuse": "Elder Abuse",
    "personal-health-literacy": "Personal Health Literacy",
    "health-insurance-coverage-status": "Health Insurance Coverage Status",
    "medical-cost-burden": "Medical Cost Burden",
    "digital-literacy": "Digital Literacy",
    "digital-access": "Digital Access",
    "utility-insecurity": "Utility Insecurity",
    "incarceration-status": "Incarceration Status",
    "language-access": "Language Access",
    "protective-factor": "Protective Factor",
}

# Data-absent-reason codes a QuestionnaireResponse item may carry (spec §2.5: asked-declined / not-asked).
DATA_ABSENT_REASONS: dict[str, str] = {
    "asked-declined": "Asked But Declined",
    "asked-unknown": "Asked But Unknown",
    "not-asked": "Not Asked",
    "unknown": "Unknown",
}

SYSTEM_ALIASES: dict[str, str] = {"snomed": SNOMED, "icd10cm": ICD10CM, "loinc": LOINC}


@dataclass(frozen=True)
class ConditionCoding:
    """One coding of a proposed health concern, with where the code comes from."""

    system: str
    code: str
    display: str
    verified: bool
    source: str


@dataclass(frozen=True)
class ConditionCode:
    """A health-concern ``Condition.code`` (SNOMED CT and/or ICD-10-CM codings)."""

    key: str
    codings: tuple[ConditionCoding, ...]

    @property
    def verified(self) -> bool:
        """True only when every coding is verified against a primary source."""
        return all(c.verified for c in self.codings)


def parse_condition_codes(data: object, where: str) -> tuple[dict[str, ConditionCode], list[str]]:
    """Parse a ``conditions:`` mapping (shared table or a rule file's own); return codes and errors."""
    errors: list[str] = []
    table: dict[str, ConditionCode] = {}
    if not isinstance(data, dict):
        return table, [f"{where}: 'conditions' must be a mapping of key -> {{codings: [...]}}"]
    for key, entry in data.items():
        codings_raw = entry.get("codings") if isinstance(entry, dict) else None
        if not isinstance(codings_raw, list) or not codings_raw:
            errors.append(f"{where}: condition '{key}' needs a non-empty 'codings' list")
            continue
        codings: list[ConditionCoding] = []
        for i, raw in enumerate(codings_raw):
            if not isinstance(raw, dict) or not raw.get("code") or not raw.get("system"):
                errors.append(f"{where}: condition '{key}' coding {i} needs 'system' and 'code'")
                continue
            system = SYSTEM_ALIASES.get(str(raw["system"]), str(raw["system"]))
            codings.append(
                ConditionCoding(
                    system=system,
                    code=str(raw["code"]),
                    display=str(raw.get("display", "")),
                    verified=bool(raw.get("verified", False)),
                    source=str(raw.get("source", "")),
                )
            )
        table[str(key)] = ConditionCode(key=str(key), codings=tuple(codings))
    return table, errors


@cache
def shipped_condition_codes() -> dict[str, ConditionCode]:
    """The shared health-concern code table shipped in ``terminology/condition-codes.yaml``."""
    text = resources.files("questionnaires").joinpath("terminology/condition-codes.yaml").read_text("utf-8")
    table, errors = parse_condition_codes(yaml.safe_load(text).get("conditions"), "condition-codes.yaml")
    if errors:  # a packaging bug, caught by the test suite
        raise RuntimeError("; ".join(errors))
    return table
