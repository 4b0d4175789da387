"""Check a QuestionnaireResponse against its instrument and normalise its answers.

Scoring must never run on a response it does not fully understand: one unknown linkId or one answer outside
the item's answer list and the whole response is rejected with every issue listed (``ResponseError``), so
the hub stores nothing partial (issue 4 acceptance, "bad input").  Each issue carries the FHIRPath
expression of the offending element for ``OperationOutcome.issue.expression``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.codes import DATA_ABSENT_REASONS, EXT_DATA_ABSENT_REASON
from questionnaires.errors import ResponseError
from questionnaires.loader import AnswerOptionDef, EnableWhenDef, Instrument, ItemDef, option_key

# Who may be an Observation.performer in the OSR profile (screening-instruments.md §6.2).
PERFORMER_TYPES = frozenset(
    {"Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization", "CareTeam"}
)
SCORABLE_STATUSES = frozenset({"completed", "amended"})
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "valueBoolean": bool,
    "valueDecimal": (int, float),
    "valueInteger": int,
    "valueDate": str,
    "valueDateTime": str,
    "valueTime": str,
    "valueString": str,
    "valueUri": str,
    "valueCoding": dict,
    "valueQuantity": dict,
    "valueAttachment": dict,
    "valueReference": dict,
}
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Answer:
    """One ``answer.value[x]``, joined to the answer option it matched (choice items)."""

    value_key: str
    value: Any
    option: AnswerOptionDef | None
    path: str


@dataclass(frozen=True)
class ItemResponse:
    """Everything a response says about one item."""

    item: ItemDef
    answers: tuple[Answer, ...]
    path: str
    data_absent_reason: str | None  # set when the item is present with no answer (asked but not answered)


@dataclass(frozen=True)
class ParsedResponse:
    """A checked QuestionnaireResponse, reduced to what scoring and extraction need."""

    id: str
    subject: Mapping[str, Any]
    authored: str
    authored_is_instant: bool
    language: str | None
    performer: Mapping[str, Any] | None
    items: Mapping[str, ItemResponse]

    def answered(self, link_id: str) -> ItemResponse | None:
        return self.items.get(link_id)


def _performer(qr: Mapping[str, Any]) -> Mapping[str, Any] | None:
    # The person who gave the answers (source) performed the observation; else whoever authored it.
    for name in ("source", "author"):
        ref = qr.get(name)
        reference = ref.get("reference") if isinstance(ref, Mapping) else None
        if isinstance(reference, str) and "/" in reference and reference.split("/")[-2] in PERFORMER_TYPES:
            return {"reference": reference}
    return None


def _matches(answer: Answer, ew: EnableWhenDef) -> bool:
    if ew.value_key == "answerCoding":
        if answer.value_key != "valueCoding" or not isinstance(ew.value, Mapping):
            return False
        return (answer.value.get("system"), answer.value.get("code")) == (ew.value.get("system"), ew.value.get("code"))
    return answer.value == ew.value


def _compare(answer: Answer, ew: EnableWhenDef) -> bool:
    if ew.operator == "=":
        return _matches(answer, ew)
    if ew.operator == "!=":
        return not _matches(answer, ew)
    a, b = answer.value, ew.value
    if not isinstance(a, int | float | str) or type(a) is not type(b):
        return False
    return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[ew.operator]


def _enabled(item: ItemDef, instrument: Instrument, found: Mapping[str, ItemResponse]) -> bool:
    """FHIR R4 enableWhen: the item and every enclosing group must be enabled."""
    for link_id in (*item.ancestors, item.link_id):
        definition = instrument.items[link_id]
        if not definition.enable_when:
            continue
        results = []
        for ew in definition.enable_when:
            source = found.get(ew.question)
            answers = source.answers if source else ()
            if ew.operator == "exists":
                results.append(bool(answers) == bool(ew.value))
            else:
                results.append(any(_compare(a, ew) for a in answers))
        if not (all(results) if definition.enable_behavior == "all" else any(results)):
            return False
    return True


def _check_value(item: ItemDef, value_key: str, value: Any, path: str, issues: list[tuple[str, str]]) -> Answer | None:
    expected = _PYTHON_TYPES.get(value_key)
    bad_bool = isinstance(value, bool) and value_key in ("valueInteger", "valueDecimal")
    if expected is None or not isinstance(value, expected) or bad_bool:
        issues.append((path, f"{value_key} of item {item.link_id} has an invalid value {value!r}"))
        return None
    if not item.options or (item.type == "open-choice" and value_key == "valueString"):
        return Answer(value_key, value, None, path)
    option = item.options.get(option_key(value_key, value))
    if option is None:
        shown = f"{value.get('system')}|{value.get('code')}" if value_key == "valueCoding" else repr(value)
        issues.append((path, f"answer {shown} is not in the answer list of item {item.link_id}"))
        return None
    return Answer(value_key, value, option, path)


def _data_absent_reason(raw: Mapping[str, Any], path: str, issues: list[tuple[str, str]]) -> str:
    for ext in raw.get("extension", []) or []:
        if isinstance(ext, Mapping) and ext.get("url") == EXT_DATA_ABSENT_REASON:
            code = ext.get("valueCode")
            if code not in DATA_ABSENT_REASONS:
                issues.append((f"{path}.extension", f"unsupported data-absent-reason {code!r}"))
            return str(code)
    # Present but unanswered = asked and not answered; Gravity/NYeC record it (spec §2.5, §9 item 4).
    return "asked-declined"


def parse_response(qr: Any, instrument: Instrument) -> ParsedResponse:
    """Check ``qr`` against ``instrument`` and return its normalised answers.

    :raises ResponseError: listing every problem, with FHIRPath expressions.
    """
    if not isinstance(qr, Mapping) or qr.get("resourceType") != "QuestionnaireResponse":
        raise ResponseError([("QuestionnaireResponse", "not a QuestionnaireResponse")])
    issues: list[tuple[str, str]] = []
    canonical = qr.get("questionnaire")
    if not isinstance(canonical, str) or not instrument.matches(canonical):
        issues.append(
            (
                "QuestionnaireResponse.questionnaire",
                f"unknown questionnaire {canonical!r}: expected {instrument.canonical}",
            )
        )
        raise ResponseError(issues)  # nothing else can be checked against the wrong instrument
    qr_id = qr.get("id")
    if not isinstance(qr_id, str) or not qr_id:
        issues.append(("QuestionnaireResponse.id", "the response needs an id (extracted resource ids derive from it)"))
    subject = qr.get("subject")
    if not isinstance(subject, Mapping) or not isinstance(subject.get("reference"), str):
        issues.append(("QuestionnaireResponse.subject", "the response needs a subject reference (the patient)"))
    authored = qr.get("authored")
    if not isinstance(authored, str) or not authored:
        issues.append(
            ("QuestionnaireResponse.authored", "the response needs authored (the Observations' effective time)")
        )
    if qr.get("status") not in SCORABLE_STATUSES:
        issues.append(
            ("QuestionnaireResponse.status", f"only completed responses are scored, not {qr.get('status')!r}")
        )

    found: dict[str, ItemResponse] = {}

    def visit(raw_items: Any, base: str) -> None:
        if not isinstance(raw_items, list):
            issues.append((base, "item must be a list"))
            return
        for i, raw in enumerate(raw_items):
            path = f"{base}[{i}]"
            if not isinstance(raw, Mapping):
                issues.append((path, "item must be an object"))
                continue
            link_id = raw.get("linkId")
            item = instrument.items.get(link_id) if isinstance(link_id, str) else None
            if item is None:
                issues.append((path, f"unknown linkId {link_id!r} for {instrument.canonical}"))
                continue
            if link_id in found:
                issues.append((path, f"linkId {link_id} appears twice"))
                continue
            raw_answers = raw.get("answer") or []
            answers: list[Answer] = []
            if item.type in ("group", "display") and raw_answers:
                issues.append((f"{path}.answer", f"item {link_id} is a {item.type} and cannot have answers"))
            elif len(raw_answers) > 1 and not item.repeats:
                issues.append((f"{path}.answer", f"item {link_id} allows one answer, got {len(raw_answers)}"))
            for j, raw_answer in enumerate(raw_answers):
                apath = f"{path}.answer[{j}]"
                keys = [k for k in raw_answer if k.startswith("value")] if isinstance(raw_answer, Mapping) else []
                if len(keys) != 1:
                    issues.append((apath, "an answer needs exactly one value[x]"))
                    continue
                if keys[0] not in item.value_keys:
                    allowed = " or ".join(item.value_keys) or "no value"
                    issues.append((apath, f"item {link_id} is {item.type}: expected {allowed}, got {keys[0]}"))
                    continue
                answer = _check_value(item, keys[0], raw_answer[keys[0]], apath, issues)
                if answer is None:
                    continue
                if any(a.value_key == answer.value_key and a.value == answer.value for a in answers):
                    issues.append((apath, f"the same answer is given twice for item {link_id}"))
                    continue
                answers.append(answer)
                visit(raw_answer.get("item", []), f"{apath}.item")
            exclusive = [a for a in answers if a.option and a.option.rule and a.option.rule.exclusive]
            if exclusive and len(answers) > 1:
                code = exclusive[0].value.get("code")
                issues.append((f"{path}.answer", f"answer {code} of item {link_id} cannot be combined with others"))
            absent = None
            if not raw_answers and item.type not in ("group", "display"):
                absent = _data_absent_reason(raw, path, issues)
            found[link_id] = ItemResponse(item, tuple(answers), path, absent)
            visit(raw.get("item", []), f"{path}.item")

    visit(qr.get("item", []), "QuestionnaireResponse.item")
    for link_id, response in list(found.items()):
        if _enabled(response.item, instrument, found):
            continue
        if response.answers:
            issues.append((response.path, f"item {link_id} is not enabled (enableWhen) but has answers"))
        else:
            del found[link_id]  # a disabled item was never asked: no Observation, not "declined"
    if issues:
        raise ResponseError(issues)
    ordered = {link_id: found[link_id] for link_id in instrument.items if link_id in found}
    return ParsedResponse(
        id=str(qr_id),
        subject={"reference": subject["reference"]},  # type: ignore[index]
        authored=str(authored),
        authored_is_instant=bool(_INSTANT.match(str(authored))),
        language=qr.get("language") if isinstance(qr.get("language"), str) else None,
        performer=_performer(qr),
        items=ordered,
    )
