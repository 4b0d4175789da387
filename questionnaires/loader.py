"""Load and validate instruments: a FHIR R4 Questionnaire plus its rule table.

``load_instrument`` is what ``referral-hub questionnaires load FILE --rules RULES`` calls for a clinic's own
licensed instrument (issue 4 scope 6), so every check here reports *all* problems at once, as sentences an
administrator can act on.  The shipped instruments go through exactly the same checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from questionnaires.codes import (
    EXT_CALCULATED_EXPRESSION,
    EXT_ITEM_WEIGHT,
    EXT_QUESTIONNAIRE_UNIT,
    EXT_TRANSLATION,
    LOINC,
)
from questionnaires.errors import InstrumentError, InstrumentNotFound, ResponseError
from questionnaires.rules import AnswerRule, QuestionRule, RuleTable, parse_rule_table

# Which QuestionnaireResponse.answer.value[x] each item type accepts (FHIR R4 Questionnaire.item.type).
VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "boolean": ("valueBoolean",),
    "decimal": ("valueDecimal",),
    "integer": ("valueInteger",),
    "date": ("valueDate",),
    "dateTime": ("valueDateTime",),
    "time": ("valueTime",),
    "string": ("valueString",),
    "text": ("valueString",),
    "url": ("valueUri",),
    "attachment": ("valueAttachment",),
    "reference": ("valueReference",),
    "quantity": ("valueQuantity",),
}
OPTION_KEYS = ("valueCoding", "valueInteger", "valueDate", "valueTime", "valueString", "valueReference")
STRUCTURAL_TYPES = ("group", "display")
ENABLE_OPERATORS = ("exists", "=", "!=", ">", "<", ">=", "<=")

OptionKey = tuple[Any, ...]


def option_key(value_key: str, value: Any) -> OptionKey:
    """Identity of an answer: (system, code) for a Coding, the JSON value otherwise."""
    if value_key == "valueCoding":
        return ("Coding", value.get("system"), value.get("code"))
    return (value_key, json.dumps(value, sort_keys=True))


@dataclass(frozen=True)
class AnswerOptionDef:
    """One permitted answer of a choice item, joined to its scoring rule."""

    key: OptionKey
    value_key: str
    value: Any
    rule: AnswerRule | None
    weight: float | None


@dataclass(frozen=True)
class EnableWhenDef:
    question: str
    operator: str
    value_key: str
    value: Any


@dataclass(frozen=True)
class ItemDef:
    """A Questionnaire item compiled for fast response checking (one per linkId)."""

    link_id: str
    type: str
    text: str
    coding: Mapping[str, str] | None  # first item.code (LOINC for the shipped instruments)
    repeats: bool
    read_only: bool
    options: Mapping[OptionKey, AnswerOptionDef]
    value_keys: tuple[str, ...]
    enable_when: tuple[EnableWhenDef, ...]
    enable_behavior: str
    ancestors: tuple[str, ...]  # linkIds of enclosing groups, outermost first
    rule: QuestionRule | None
    unit: Mapping[str, str] | None
    score: str | None = None  # key of the ScoreRule this calculated item carries


@dataclass(frozen=True, eq=False)
class Instrument:
    """A screening instrument ready to score: Questionnaire JSON, rule table and compiled item index.

    Treat ``questionnaire`` as read-only: shipped instruments are cached and shared.
    """

    questionnaire: dict
    rules: RuleTable
    url: str
    version: str
    key: str
    items: Mapping[str, ItemDef] = field(repr=False)
    link_ids_by_code: Mapping[str, str] = field(repr=False)

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    @property
    def title(self) -> str:
        return str(self.questionnaire.get("title") or self.questionnaire.get("name") or self.key)

    def languages(self) -> list[str]:
        """Languages the Questionnaire renders in: its own plus every ``translation`` extension's."""
        found = {str(self.questionnaire.get("language", "en"))}
        for item in _walk(self.questionnaire.get("item", [])):
            for ext in (item.get("_text") or {}).get("extension", []):
                if ext.get("url") == EXT_TRANSLATION:
                    found.update(e["valueCode"] for e in ext.get("extension", []) if e.get("url") == "lang")
        return sorted(found)

    def matches(self, canonical: str) -> bool:
        """Does a ``QuestionnaireResponse.questionnaire`` canonical (``url`` or ``url|version``) name us?"""
        url, _, version = canonical.partition("|")
        return url == self.url and (not version or version == self.version)


def _walk(items: list[dict]) -> Iterable[dict]:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def _fhir_errors(resource: dict, where: str) -> list[str]:
    try:
        get_fhir_model_class(str(resource.get("resourceType"))).model_validate(resource)
    except (ValidationError, KeyError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            return [f"{where}: not valid FHIR R4: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return [f"{where}: not valid FHIR R4: {exc}"]
    return []


def _check_questionnaire(q: Any, where: str) -> list[str]:
    """Checks on the Questionnaire alone (structure the scorer relies on)."""
    if not isinstance(q, dict) or q.get("resourceType") != "Questionnaire":
        return [f"{where}: not a FHIR Questionnaire (resourceType must be 'Questionnaire')"]
    errors = _fhir_errors(q, where)
    for name in ("url", "version"):
        if not q.get(name):
            errors.append(f"{where}: Questionnaire.{name} is required so responses can name the instrument")
    if not q.get("item"):
        errors.append(f"{where}: Questionnaire has no items")
        return errors
    seen: set[str] = set()
    for item in _walk(q["item"]):
        link_id = item.get("linkId")
        if not link_id:
            errors.append(f"{where}: an item has no linkId")
            continue
        if link_id in seen:
            errors.append(f"{where}: linkId {link_id} is used twice")
        seen.add(link_id)
        kind = item.get("type")
        if kind in ("choice", "open-choice") and not item.get("answerOption"):
            errors.append(
                f"{where}: item {link_id} is {kind} without answerOption "
                "(answerValueSet is not supported: list the answers so they can be checked offline)"
            )
        for i, ext in enumerate((item.get("_text") or {}).get("extension", [])):
            if ext.get("url") == EXT_TRANSLATION:
                subs = {e.get("url") for e in ext.get("extension", [])}
                if not {"lang", "content"} <= subs:
                    errors.append(f"{where}: item {link_id} translation {i} needs 'lang' and 'content'")
    for item in _walk(q["item"]):
        for ew in item.get("enableWhen", []):
            if ew.get("question") not in seen:
                errors.append(
                    f"{where}: item {item.get('linkId')} enableWhen refers to unknown item {ew.get('question')}"
                )
            if ew.get("operator") not in ENABLE_OPERATORS:
                errors.append(f"{where}: item {item.get('linkId')} enableWhen operator {ew.get('operator')!r} unknown")
    return errors


def _weight(option: dict) -> float | None:
    for ext in option.get("extension", []):
        if ext.get("url") == EXT_ITEM_WEIGHT:
            return float(ext.get("valueDecimal", ext.get("valueInteger", 0)))
    return None


def _compile(q: dict, rules: RuleTable, where: str) -> tuple[dict[str, ItemDef], dict[str, str], list[str]]:
    """Join Questionnaire items to rules; report every mismatch between the two."""
    errors: list[str] = []
    link_ids_by_code: dict[str, str] = {}
    for item in _walk(q["item"]):
        for coding in item.get("code", [])[:1]:
            code = coding.get("code")
            if code in rules.questions and code in link_ids_by_code:
                errors.append(f"{where}: question {code} is the code of two items; rules cannot tell them apart")
            link_ids_by_code.setdefault(code, item["linkId"])
    for code in rules.questions:
        if code not in link_ids_by_code:
            errors.append(f"{where}: rules name question {code}, but no Questionnaire item has that code")
    score_by_link = {s.link_id: s for s in rules.scores.values() if s.link_id}
    items: dict[str, ItemDef] = {}

    def visit(item_list: list[dict], ancestors: tuple[str, ...]) -> None:
        for item in item_list:
            link_id = item["linkId"]
            kind = str(item.get("type"))
            coding = (item.get("code") or [None])[0]
            rule = rules.questions.get(coding["code"]) if coding else None
            if rule and link_ids_by_code.get(rule.code) != link_id:
                rule = None
            options: dict[OptionKey, AnswerOptionDef] = {}
            for opt in item.get("answerOption", []):
                vkey = next((k for k in OPTION_KEYS if k in opt), None)
                if vkey is None:
                    errors.append(f"{where}: item {link_id} has an answerOption without a value")
                    continue
                key = option_key(vkey, opt[vkey])
                arule = rule.answers.get(opt[vkey].get("code")) if rule and vkey == "valueCoding" else None
                options[key] = AnswerOptionDef(key, vkey, opt[vkey], arule, _weight(opt))
            if rule is not None:
                if kind not in ("choice", "open-choice"):
                    errors.append(f"{where}: rules give answers for {rule.code}, but item {link_id} is {kind}")
                listed = {k[2] for k in options if k[0] == "Coding"}
                for answer in rule.answers:
                    if answer not in listed:
                        errors.append(f"{where}: rule answer {answer} is not an answerOption of item {link_id}")
                for answer in sorted(listed - set(rule.answers)):
                    errors.append(
                        f"{where}: answerOption {answer} of item {link_id} has no rule "
                        "(list it with {} if it is not positive)"
                    )
                for opt in options.values():
                    if opt.rule and opt.weight is not None and opt.rule.points != opt.weight:
                        errors.append(
                            f"{where}: item {link_id} answer {opt.rule.code} has itemWeight {opt.weight} "
                            f"but rule points {opt.rule.points}"
                        )
            if kind in ("choice", "open-choice"):
                vkeys = tuple(dict.fromkeys(o.value_key for o in options.values()))
                if kind == "open-choice" and "valueString" not in vkeys:
                    vkeys += ("valueString",)
            else:
                vkeys = VALUE_KEYS.get(kind, ())
            if kind not in VALUE_KEYS and kind not in ("choice", "open-choice", *STRUCTURAL_TYPES):
                errors.append(f"{where}: item {link_id} has unknown type {kind!r}")
            unit = None
            for ext in item.get("extension", []):
                if ext.get("url") == EXT_QUESTIONNAIRE_UNIT and "valueCoding" in ext:
                    unit = ext["valueCoding"]
            score = score_by_link.get(link_id)
            if (
                score is not None
                and not item.get("readOnly")
                and not any(e.get("url") == EXT_CALCULATED_EXPRESSION for e in item.get("extension", []))
            ):
                errors.append(f"{where}: score {score.key} item {link_id} must be readOnly or calculated")
            items[link_id] = ItemDef(
                link_id=link_id,
                type=kind,
                text=str(item.get("text", "")),
                coding=coding,
                repeats=bool(item.get("repeats", False)),
                read_only=bool(item.get("readOnly", False)),
                options=options,
                value_keys=vkeys,
                enable_when=tuple(
                    EnableWhenDef(
                        question=str(ew.get("question")),
                        operator=str(ew.get("operator")),
                        value_key=next((k for k in ew if k.startswith("answer")), ""),
                        value=next((v for k, v in ew.items() if k.startswith("answer")), None),
                    )
                    for ew in item.get("enableWhen", [])
                ),
                enable_behavior=str(item.get("enableBehavior", "all")),
                ancestors=ancestors,
                rule=rule,
                unit=unit,
                score=score.key if score else None,
            )
            visit(item.get("item", []), (*ancestors, link_id))

    visit(q["item"], ())
    for score in rules.scores.values():
        if score.link_id is None:
            continue
        item_def = items.get(score.link_id)
        if item_def is None:
            errors.append(f"{where}: score {score.key} link_id {score.link_id} is not a Questionnaire item")
            continue
        if item_def.coding is None or item_def.coding.get("code") != score.code:
            errors.append(f"{where}: score {score.key} item {score.link_id} must have code {score.code}")
        if score.combine == "any-positive":
            listed = {k[2] for k in item_def.options if k[0] == "Coding"}
            for result in (score.result_positive, score.result_negative):
                if result and result.get("code") not in listed:
                    errors.append(f"{where}: score {score.key} result {result.get('code')} is not an answerOption")
        elif item_def.type not in ("integer", "decimal"):
            errors.append(f"{where}: score {score.key} item {score.link_id} must be integer or decimal")
    return items, link_ids_by_code, errors


def build_instrument(questionnaire: Any, rules_data: Any, where: str = "instrument") -> Instrument:
    """Validate a Questionnaire (as JSON data) with its rule table (as YAML data) and compile them.

    :raises InstrumentError: listing every problem found in either file.
    """
    errors = _check_questionnaire(questionnaire, f"{where} Questionnaire")
    try:
        rules = parse_rule_table(rules_data, f"{where} rules")
    except InstrumentError as exc:
        raise InstrumentError(errors + exc.messages) from None
    if errors:
        raise InstrumentError(errors)
    if rules.url != questionnaire["url"]:
        errors.append(f"{where}: rules are for {rules.url}, the Questionnaire url is {questionnaire['url']}")
    if rules.version != str(questionnaire["version"]):
        errors.append(
            f"{where}: rules are for version {rules.version}, the Questionnaire is version {questionnaire['version']}"
        )
    codes = questionnaire.get("code") or []
    if rules.panel_code and codes and (codes[0].get("system"), codes[0].get("code")) != (LOINC, rules.panel_code):
        errors.append(f"{where}: rules panel {rules.panel_code} differs from Questionnaire.code {codes[0].get('code')}")
    items, by_code, compile_errors = _compile(questionnaire, rules, where)
    errors += compile_errors
    if errors:
        raise InstrumentError(errors)
    return Instrument(
        questionnaire=questionnaire,
        rules=rules,
        url=rules.url,
        version=rules.version,
        key=rules.key,
        items=items,
        link_ids_by_code=by_code,
    )


def load_instrument(questionnaire_path: Path, rules_path: Path) -> Instrument:
    """Load a Questionnaire JSON file and its YAML rule file, validating both.

    :raises InstrumentError: listing every problem (unreadable file, invalid FHIR, rule mismatches …).
    """
    errors: list[str] = []
    questionnaire: Any = None
    rules_data: Any = None
    try:
        questionnaire = json.loads(Path(questionnaire_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        errors.append(f"{questionnaire_path}: cannot read Questionnaire JSON: {exc}")
    try:
        rules_data = yaml.safe_load(Path(rules_path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        errors.append(f"{rules_path}: cannot read rule file YAML: {exc}")
    if errors:
        raise InstrumentError(errors)
    return build_instrument(questionnaire, rules_data, where=Path(questionnaire_path).name)


@cache
def _shipped() -> tuple[Instrument, ...]:
    package = resources.files("questionnaires")
    found = []
    for entry in sorted(package.joinpath("instruments").iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".json"):
            continue
        key = entry.name.removesuffix(".json")
        q = json.loads(entry.read_text(encoding="utf-8"))
        rules = yaml.safe_load(package.joinpath("rules", f"{key}.yaml").read_text(encoding="utf-8"))
        found.append(build_instrument(q, rules, where=entry.name))
    return tuple(found)


def list_instruments() -> list[Instrument]:
    """The instruments shipped with the package (validated on first use, then cached)."""
    return list(_shipped())


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-]", version))


def get_instrument(
    url: str, version: str | None = None, *, instruments: Iterable[Instrument] | None = None
) -> Instrument:
    """Find an instrument by canonical URL (``url`` or ``url|version``); newest version if none given.

    :param instruments: where to look (e.g. the hub's loaded instruments); the shipped ones by default.
    :raises InstrumentNotFound: when nothing matches.
    """
    if version is None and "|" in url:
        url, _, version = url.partition("|")
    pool = list(_shipped() if instruments is None else instruments)
    matches = [i for i in pool if i.url == url and (version is None or i.version == version)]
    if not matches:
        label = f"{url}|{version}" if version else url
        raise InstrumentNotFound(f"no instrument with canonical {label}")
    return max(matches, key=lambda i: _version_key(i.version))


def instrument_for_response(qr: Mapping[str, Any], instruments: Iterable[Instrument] | None = None) -> Instrument:
    """The instrument a QuestionnaireResponse names in ``questionnaire``.

    :raises ResponseError: when the canonical is missing or names no loaded instrument.
    """
    canonical = qr.get("questionnaire") if isinstance(qr, Mapping) else None
    if not isinstance(canonical, str) or not canonical:
        raise ResponseError([("QuestionnaireResponse.questionnaire", "the response does not name its Questionnaire")])
    try:
        return get_instrument(canonical, instruments=instruments)
    except InstrumentNotFound:
        raise ResponseError([("QuestionnaireResponse.questionnaire", f"unknown questionnaire {canonical}")]) from None
