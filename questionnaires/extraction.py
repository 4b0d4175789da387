"""Turn a scored QuestionnaireResponse into the FHIR resources the Gravity IG expects.

Observation-based extraction done natively (``screening-instruments.md`` §6.5 option 3), shaped like the
IG StructureMap output:

* one SDOHCC Observation Screening Response (OSR) per answered item, one per selected answer for
  ``repeats`` items (US Core multi-select rule), ``dataAbsentReason`` for items asked but not answered;
* one derived OSR per computed score that has a LOINC code (88124-3, 95614-4, 55758-7), with no performer;
* a grouping OSR (panel code, ``hasMember``);
* one unconfirmed health-concern SDOHCC Condition per proposed code, ``evidence.detail`` → positive OSRs.

Deterministic by construction: ids are uuid5 of the QR id and the linkId (plus answer code for multi-select),
no clock, no randomness — so the hub can PUT them (update-as-create) and re-submitting the same QR never
duplicates anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.codes import (
    CONDITION_CLINICAL,
    CONDITION_VER_STATUS,
    DATA_ABSENT_REASON,
    DATA_ABSENT_REASONS,
    EXT_CONDITION_ASSERTER,
    INTERPRETATION,
    LOINC,
    OBSERVATION_CATEGORY,
    PROFILE_CONDITION,
    PROFILE_OSR,
    SDOHCC_CODES,
    US_CORE_CATEGORY,
    US_CORE_CONDITION_CATEGORY,
)
from questionnaires.loader import Instrument
from questionnaires.responses import Answer, ParsedResponse, parse_response
from questionnaires.rules import Domain, ScoreRule
from questionnaires.scoring import Findings, evaluate

# Fixed namespace so ids are stable across processes, machines and releases.  Never change it: stored
# Observations would stop matching their re-extraction.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://referral-hub.example.org/questionnaires/extraction")


def resource_id(qr_id: str, *parts: str) -> str:
    """The id of an extracted resource: uuid5 over the QR id and what the resource stands for."""
    return str(uuid.uuid5(ID_NAMESPACE, "|".join((qr_id, *parts))))


@dataclass(frozen=True)
class Extraction:
    """Findings plus the resources to store, in a stable order (items, scores, panel, conditions)."""

    findings: Findings
    resources: list[dict]

    def transaction_bundle(self) -> dict:
        """A FHIR transaction Bundle that PUTs every resource (update-as-create, idempotent)."""
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": resource,
                    "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
                }
                for resource in self.resources
            ],
        }


def _category(domain: Domain) -> dict:
    concept: dict[str, Any] = {
        "coding": [{"system": SDOHCC_CODES, "code": domain.category, "display": domain.category_display}]
    }
    if domain.text:
        concept["text"] = domain.text
    return concept


def _osr_categories(domains: list[Domain]) -> list[dict]:
    # survey (US Core) + sdoh (SDOH-Obs-4) + SDOHCC domain codes (gravity-sdoh-cc.md §4.8).
    categories = [
        {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]},
        {"coding": [{"system": US_CORE_CATEGORY, "code": "sdoh", "display": "SDOH"}]},
    ]
    seen = set()
    for domain in domains:
        if (domain.category, domain.text) not in seen:
            seen.add((domain.category, domain.text))
            categories.append(_category(domain))
    return categories


def _pos() -> list[dict]:
    # Gravity: flag possible needs with POS and never send NEG (screening-instruments.md §1).
    return [{"coding": [{"system": INTERPRETATION, "code": "POS", "display": "Positive"}]}]


def _value(answer: Answer, unit: Mapping[str, str] | None) -> tuple[str, Any] | None:
    """Map ``answer.value[x]`` to ``Observation.value[x]`` (None: not representable, no Observation)."""
    key, value = answer.value_key, answer.value
    if key == "valueCoding":
        source = answer.option.value if answer.option else value  # display from the Questionnaire, not the client
        coding = {k: source[k] for k in ("system", "code", "display") if k in source}
        return "valueCodeableConcept", {"coding": [coding]}
    if key == "valueInteger":
        return "valueInteger", value
    if key == "valueDecimal":
        quantity: dict[str, Any] = {"value": value}
        if unit:
            quantity.update(
                {"unit": unit.get("display", unit.get("code")), "system": unit.get("system"), "code": unit.get("code")}
            )
        return "valueQuantity", quantity
    if key in ("valueString", "valueUri"):
        return "valueString", value
    if key == "valueBoolean":
        return "valueBoolean", value
    if key in ("valueDate", "valueDateTime"):
        return "valueDateTime", value
    if key == "valueTime":
        return "valueTime", value
    if key == "valueQuantity":
        return "valueQuantity", dict(value)
    return None


class _Builder:
    def __init__(
        self, parsed: ParsedResponse, findings: Findings, instrument: Instrument, asserter: str | None
    ) -> None:
        self.parsed = parsed
        self.findings = findings
        self.instrument = instrument
        self.rules = instrument.rules
        self.asserter = asserter
        self.qr_ref = f"QuestionnaireResponse/{parsed.id}"
        self.item_obs: dict[str, list[str]] = {}  # linkId -> Observation ids
        self.pos_obs: dict[str, list[str]] = {}  # linkId -> ids of its POS Observations
        self.score_obs: dict[str, str] = {}
        self.resources: list[dict] = []

    def _observation(self, obs_id: str, code: dict, domains: list[Domain], *, derived: bool) -> dict:
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": obs_id,
            "meta": {"profile": [PROFILE_OSR]},
            "status": "final",
            "category": _osr_categories(domains),
            "code": code,
            "subject": dict(self.parsed.subject),
            "effectiveDateTime": self.parsed.authored,
        }
        if self.parsed.authored_is_instant:
            obs["issued"] = self.parsed.authored
        if self.parsed.language:
            obs["language"] = self.parsed.language
        # Derived answers have no performer (OSR profile guidance); derivedFrom is always there (assess-2).
        if not derived and self.parsed.performer:
            obs["performer"] = [dict(self.parsed.performer)]
        return obs

    def _code(self, coding: Mapping[str, str], text: str | None) -> dict:
        code: dict[str, Any] = {"coding": [{k: coding[k] for k in ("system", "code", "display") if k in coding}]}
        if text:
            code["text"] = text
        return code

    def _domains(self, keys: tuple[str, ...] | list[str]) -> list[Domain]:
        return [self.rules.domains[k] for k in keys if k in self.rules.domains]

    def items(self) -> None:
        calculated = {s.link_id for s in self.rules.scores.values() if s.link_id}
        for result in self.findings.items:
            response = self.parsed.items[result.link_id]
            item = response.item
            if item.coding is None or result.link_id in calculated:
                continue  # no code, no Observation (US Core survey codes); scores come from scores()
            domains = self._domains(list(item.rule.domains) if item.rule else [])
            domains += [d for d in self._domains(result.positive_domains) if d not in domains]
            code = self._code(item.coding, item.text)
            ids = self.item_obs.setdefault(result.link_id, [])
            if not response.answers:
                obs = self._observation(resource_id(self.parsed.id, result.link_id), code, domains, derived=False)
                reason = response.data_absent_reason or "asked-declined"
                obs["dataAbsentReason"] = {
                    "coding": [{"system": DATA_ABSENT_REASON, "code": reason, "display": DATA_ABSENT_REASONS[reason]}]
                }
                obs["derivedFrom"] = [{"reference": self.qr_ref}]
                ids.append(obs["id"])
                self.resources.append(obs)
                continue
            for answer, label in zip(response.answers, result.answers, strict=True):
                mapped = _value(answer, item.unit)
                if mapped is None:
                    continue
                parts = (result.link_id, label) if item.repeats else (result.link_id,)
                obs = self._observation(resource_id(self.parsed.id, *parts), code, domains, derived=False)
                obs[mapped[0]] = mapped[1]
                if label in result.positive_answers:
                    obs["interpretation"] = _pos()
                    self.pos_obs.setdefault(result.link_id, []).append(obs["id"])
                obs["derivedFrom"] = [{"reference": self.qr_ref}]
                ids.append(obs["id"])
                self.resources.append(obs)

    def scores(self) -> None:
        for key, result in self.findings.scores.items():
            rule: ScoreRule = self.rules.scores[key]
            if rule.code is None or not result.complete:
                continue  # no LOINC for it (kept in findings), or inputs missing (flagged in findings)
            coding = {"system": LOINC, "code": rule.code}
            if rule.display:
                coding["display"] = rule.display
            text = self.instrument.items[rule.link_id].text if rule.link_id else None
            domains = self._domains([p.domain for p in rule.positives])
            obs = self._observation(
                resource_id(self.parsed.id, "score", key), self._code(coding, text), domains, derived=True
            )
            if rule.combine == "any-positive":
                chosen = rule.result_positive if result.positive else rule.result_negative
                assert chosen is not None  # guaranteed by the rule parser
                display = chosen.get("display")
                if rule.link_id:  # prefer the Questionnaire's own answer coding (same display everywhere)
                    for option in self.instrument.items[rule.link_id].options.values():
                        if option.key[2] == chosen.get("code"):
                            display = option.value.get("display", display)
                value = {"system": LOINC, "code": chosen["code"]}
                if display:
                    value["display"] = display
                obs["valueCodeableConcept"] = {"coding": [value]}
            elif isinstance(result.value, int):
                obs["valueInteger"] = result.value
            else:
                obs["valueQuantity"] = {"value": result.value}
            if result.positive:
                obs["interpretation"] = _pos()
            inputs = [oid for link_id in result.inputs for oid in self.item_obs.get(link_id, [])]
            obs["derivedFrom"] = [{"reference": self.qr_ref}] + [{"reference": f"Observation/{oid}"} for oid in inputs]
            self.score_obs[key] = obs["id"]
            self.resources.append(obs)

    def panel(self) -> None:
        members = [r["id"] for r in self.resources]
        if not self.rules.panel_code or not members:
            return
        coding = {"system": LOINC, "code": self.rules.panel_code}
        if self.rules.panel_display:
            coding["display"] = self.rules.panel_display
        # obsscreen-3: a grouping OSR's code SHALL be a LOINC panel; members are the panel's OSRs.
        obs = self._observation(
            resource_id(self.parsed.id, "panel"), self._code(coding, self.instrument.title), [], derived=False
        )
        obs["hasMember"] = [{"reference": f"Observation/{m}"} for m in members]
        obs["derivedFrom"] = [{"reference": self.qr_ref}]
        self.resources.append(obs)

    def conditions(self) -> None:
        proposals: dict[str, tuple[list[Domain], list[str]]] = {}
        for finding in self.findings.domains.values():
            for evidence in finding.evidence:
                if evidence.condition is None:
                    continue
                domains, refs = proposals.setdefault(evidence.condition, ([], []))
                domain = self.rules.domains[finding.key]
                if domain not in domains:
                    domains.append(domain)
                if evidence.source.startswith("score:"):
                    key = evidence.source[6:]
                    found = [self.score_obs[key]] if key in self.score_obs else []
                    found = found or [o for li in self.findings.scores[key].inputs for o in self.pos_obs.get(li, [])]
                else:
                    found = self.pos_obs.get(evidence.source, [])
                refs.extend(r for r in found if r not in refs)
        for key, (domains, refs) in proposals.items():
            code = self.rules.conditions[key]
            condition: dict[str, Any] = {
                "resourceType": "Condition",
                "id": resource_id(self.parsed.id, "condition", key),
                "meta": {"profile": [PROFILE_CONDITION]},
            }
            if self.asserter:
                # Auto-generated concerns are asserted by a Device (screening-instruments.md §6.1).
                condition["extension"] = [
                    {"url": EXT_CONDITION_ASSERTER, "valueReference": {"reference": self.asserter}}
                ]
            condition.update(
                {
                    "clinicalStatus": {
                        "coding": [{"system": CONDITION_CLINICAL, "code": "active", "display": "Active"}]
                    },
                    # Never confirmed automatically: a care-team member verifies with the patient (spec §6.1, §9.11).
                    "verificationStatus": {
                        "coding": [{"system": CONDITION_VER_STATUS, "code": "unconfirmed", "display": "Unconfirmed"}]
                    },
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": US_CORE_CONDITION_CATEGORY,
                                    "code": "health-concern",
                                    "display": "Health Concern",
                                }
                            ]
                        },
                        {"coding": [{"system": US_CORE_CATEGORY, "code": "sdoh", "display": "SDOH"}]},
                        *[_category(d) for d in domains],
                    ],
                    "code": {
                        "coding": [{"system": c.system, "code": c.code, "display": c.display} for c in code.codings],
                        "text": code.codings[0].display,
                    },
                    "subject": dict(self.parsed.subject),
                    "onsetPeriod": {"start": self.parsed.authored},
                    "recordedDate": self.parsed.authored,
                    "evidence": [
                        {"detail": [{"reference": f"Observation/{r}"} for r in refs] or [{"reference": self.qr_ref}]}
                    ],
                }
            )
            self.resources.append(condition)


def extract(qr: dict, instrument: Instrument, *, asserter: str | None = None) -> Extraction:
    """Score ``qr`` and build the Observations and Conditions to store.

    :param asserter: optional ``Device/<id>`` reference recorded as the SDOHCC Condition asserter extension.
    :raises ResponseError: if the response does not fit the instrument; nothing is returned then.
    """
    parsed = parse_response(qr, instrument)
    findings = evaluate(parsed, instrument)
    builder = _Builder(parsed, findings, instrument, asserter)
    builder.items()
    builder.scores()
    builder.panel()
    builder.conditions()
    return Extraction(findings=findings, resources=builder.resources)
