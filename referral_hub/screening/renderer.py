"""A generic renderer of FHIR R4 Questionnaires for the staff screening pages, and the parser of what comes back.

Nothing here knows a particular instrument: any Questionnaire the hub can load renders (issue 4 scope 5). The
server is the source of truth — ``static/js/screening.js`` only hides items whose ``enableWhen`` is false, and
:func:`parse_form` evaluates ``enableWhen`` again with the same semantics as ``questionnaires.responses`` (an
answer to a disabled item would make the whole response unscorable there). Every value that comes back is
checked against the item: a choice must be one of the item's ``answerOption``s, an integer must be an integer,
and a field for an item the Questionnaire does not have (a tampered ``linkId``) rejects the whole form, so
nothing is stored from a form the hub did not produce.

Texts come in the patient's language from the FHIR ``translation`` extension on ``_text``/``_display``/
``_title`` (``http://hl7.org/fhir/StructureDefinition/translation``), falling back to the Questionnaire's own
text (English for the shipped instruments).

Supported item types: group, display, choice, open-choice, boolean, integer, decimal, string, text, date,
dateTime, time, url; ``repeats`` on choice items (checkboxes); ``required``; ``readOnly`` and calculated items
are shown but never editable (the scorer computes them). Not supported, rendered as a note: attachment,
reference, quantity, repeating groups.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from werkzeug.datastructures import MultiDict

from referral_hub.i18n import _

EXT_TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
EXT_CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
EXT_ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
#: Prefix of every answer field's name: ``q-<linkId>`` (``q-<linkId>-other`` for an open-choice free text).
FIELD_PREFIX = "q-"
OTHER_SUFFIX = "-other"
#: Item types with an input control (``display`` and ``group`` have none).
INPUT_TYPES = frozenset(
    {"choice", "open-choice", "boolean", "integer", "decimal", "string", "text", "date", "dateTime", "time", "url"}
)
UNSUPPORTED_TYPES = frozenset({"attachment", "reference", "quantity"})
_INTEGER = re.compile(r"^[+-]?\d{1,10}$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_OPTION_KEYS = ("valueCoding", "valueInteger", "valueDate", "valueTime", "valueString")


# ---- translations --------------------------------------------------------------------------------------------------
def translated(value: Any, holder: Mapping[str, Any] | None, language: str | None) -> str:
    """``value`` in ``language`` when a ``translation`` extension on its ``_element`` gives it (``es`` matches
    ``es-MX`` and vice versa), else ``value`` itself."""
    text = "" if value is None else str(value)
    if not language or not holder:
        return text
    wanted = language.lower()
    base = wanted.split("-")[0]
    fallback = None
    for ext in holder.get("extension", []) or []:
        if ext.get("url") != EXT_TRANSLATION:
            continue
        parts = {e.get("url"): e for e in ext.get("extension", []) or []}
        lang = str((parts.get("lang") or {}).get("valueCode", "")).lower()
        content = (parts.get("content") or {}).get("valueString")
        if not content:
            continue
        if lang == wanted:
            return str(content)
        if lang.split("-")[0] == base and fallback is None:
            fallback = str(content)
    return fallback if fallback is not None else text


def questionnaire_title(questionnaire: Mapping[str, Any], language: str | None) -> str:
    title = questionnaire.get("title") or questionnaire.get("name") or ""
    return translated(title, questionnaire.get("_title"), language)


def item_text(item: Mapping[str, Any], language: str | None) -> str:
    return translated(item.get("text"), item.get("_text"), language)


# ---- answer options as form tokens ---------------------------------------------------------------------------------
def option_token(value_key: str, value: Any) -> str:
    """The form value of an answer: ``system|code`` for a Coding, ``valueInteger:3`` style for the others."""
    if value_key == "valueCoding":
        return f"{value.get('system', '')}|{value.get('code', '')}"
    return f"{value_key}:{json.dumps(value, sort_keys=True)}"


def _options(item: Mapping[str, Any]) -> list[tuple[str, str, Any, Mapping[str, Any]]]:
    """(token, value key, value, raw option) for each ``answerOption`` of ``item``."""
    found = []
    for option in item.get("answerOption", []) or []:
        key = next((k for k in _OPTION_KEYS if k in option), None)
        if key is not None:
            found.append((option_token(key, option[key]), key, option[key], option))
    return found


def _option_label(value_key: str, value: Any, language: str | None) -> str:
    if value_key == "valueCoding":
        return translated(value.get("display") or value.get("code"), value.get("_display"), language)
    return str(value)


def _clean_value(value_key: str, value: Any) -> Any:
    """An answer value as stored: a Coding without its translation extensions (the QR records the code)."""
    if value_key == "valueCoding":
        return {k: v for k, v in value.items() if k in ("system", "code", "display", "version")}
    return value


# ---- the render model ----------------------------------------------------------------------------------------------
@dataclass
class Choice:
    token: str
    label: str
    selected: bool = False


@dataclass
class RenderItem:
    """One Questionnaire item as the template draws it."""

    link_id: str
    type: str
    number: int
    text: str
    control: str  # radio, checkbox, select, boolean, number, decimal, text, textarea, date, datetime, time, url,
    #             display, group, calculated, unsupported
    required: bool
    field_name: str
    field_id: str
    values: list[str] = field(default_factory=list)
    other: str = ""
    choices: list[Choice] = field(default_factory=list)
    children: list[RenderItem] = field(default_factory=list)
    enable_when: str = ""  # JSON for screening.js; empty when always enabled
    enable_behavior: str = "all"
    errors: list[str] = field(default_factory=list)
    max_length: int | None = None

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""


def _walk(items: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for item in items:
        yield item
        yield from _walk(item.get("item", []) or [])


def _is_calculated(item: Mapping[str, Any]) -> bool:
    return bool(item.get("readOnly")) or any(e.get("url") == EXT_CALCULATED for e in item.get("extension", []) or [])


def _control(item: Mapping[str, Any]) -> str:
    kind = str(item.get("type"))
    if kind == "group":
        return "group"
    if kind == "display":
        return "display"
    if kind in UNSUPPORTED_TYPES or (kind == "group" and item.get("repeats")):
        return "unsupported"
    if _is_calculated(item):
        return "calculated"
    if kind in ("choice", "open-choice"):
        if item.get("repeats"):
            return "checkbox"
        controls = {
            c.get("code")
            for e in item.get("extension", []) or []
            if e.get("url") == EXT_ITEM_CONTROL
            for c in (e.get("valueCodeableConcept") or {}).get("coding", [])
        }
        # Radio buttons show every answer at once (fewer taps on a phone); a drop-down only for long lists.
        return "select" if len(item.get("answerOption", []) or []) > 8 and "radio-button" not in controls else "radio"
    return {
        "boolean": "boolean",
        "integer": "number",
        "decimal": "decimal",
        "string": "text",
        "text": "textarea",
        "date": "date",
        "dateTime": "datetime",
        "time": "time",
        "url": "url",
    }.get(kind, "unsupported")


def _enable_when_json(item: Mapping[str, Any], types: Mapping[str, str]) -> str:
    conditions = []
    for ew in item.get("enableWhen", []) or []:
        key = next((k for k in ew if k.startswith("answer")), None)
        value: Any = None
        if key == "answerCoding":
            value = option_token("valueCoding", ew[key])
        elif key is not None:
            value = ew[key]
        source_type = types.get(str(ew.get("question")), "")
        conditions.append(
            {
                "q": FIELD_PREFIX + str(ew.get("question")),
                "op": ew.get("operator"),
                "v": value,
                "num": source_type in ("integer", "decimal"),
                "bool": source_type == "boolean",
            }
        )
    return json.dumps(conditions, separators=(",", ":")) if conditions else ""


def build_items(
    questionnaire: Mapping[str, Any],
    language: str | None,
    values: Mapping[str, list[str]] | None = None,
    others: Mapping[str, str] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> list[RenderItem]:
    """The render tree of ``questionnaire`` in ``language`` with the current ``values`` (form tokens or typed text
    by linkId), open-choice free texts and per-item ``errors``."""
    values = values or {}
    others = others or {}
    errors = errors or {}
    types = {str(i.get("linkId")): str(i.get("type")) for i in _walk(questionnaire.get("item", []) or [])}
    counter = iter(range(1, 100_000))

    def render(item: Mapping[str, Any]) -> RenderItem:
        link_id = str(item.get("linkId"))
        number = next(counter)
        control = _control(item)
        current = list(values.get(link_id, []))
        node = RenderItem(
            link_id=link_id,
            type=str(item.get("type")),
            number=number,
            text=item_text(item, language),
            control=control,
            required=bool(item.get("required")),
            field_name=FIELD_PREFIX + link_id,
            field_id=f"q{number}",
            values=current,
            other=others.get(link_id, ""),
            enable_when=_enable_when_json(item, types),
            enable_behavior=str(item.get("enableBehavior", "all")),
            errors=list(errors.get(link_id, [])),
            max_length=item.get("maxLength") if isinstance(item.get("maxLength"), int) else None,
        )
        if control in ("radio", "checkbox", "select", "calculated"):
            node.choices = [
                Choice(token, _option_label(key, value, language), token in current)
                for token, key, value, _raw in _options(item)
            ]
        node.children = [render(child) for child in item.get("item", []) or []]
        return node

    return [render(item) for item in questionnaire.get("item", []) or []]


# ---- parsing a submitted form --------------------------------------------------------------------------------------
@dataclass
class ParsedForm:
    """What a submitted screening form says, checked against the Questionnaire.

    ``items`` are the QuestionnaireResponse items to store; ``values``/``others`` are what was typed (to show the
    form again without losing anything); ``errors`` are per linkId, ``form_errors`` for the whole form.
    """

    items: list[dict[str, Any]]
    values: dict[str, list[str]]
    others: dict[str, str]
    errors: dict[str, list[str]]
    form_errors: list[str]
    answered: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.form_errors


def _typed(item: Mapping[str, Any], raw: str) -> tuple[str, Any] | str:
    """(value key, value) for one typed answer, or an error message."""
    kind = item.get("type")
    text = raw.strip()
    if kind == "boolean":
        if text in ("true", "false"):
            return "valueBoolean", text == "true"
        return _("Choose yes or no.")
    if kind == "integer":
        if _INTEGER.match(text):
            return "valueInteger", int(text)
        return _("Enter a whole number, for example 3.")
    if kind == "decimal":
        if _DECIMAL.match(text):
            number = float(text)
            return "valueDecimal", int(number) if number.is_integer() and "." not in text else number
        return _("Enter a number, for example 2.5.")
    if kind in ("string", "text"):
        limit = item.get("maxLength")
        if isinstance(limit, int) and len(text) > limit:
            return _("Use at most %(num)d characters.", num=limit)
        return "valueString", text
    if kind == "date":
        try:
            return "valueDate", date.fromisoformat(text).isoformat()
        except ValueError:
            return _("Enter a date like 2024-03-31.")
    if kind == "dateTime":
        try:
            return "valueDateTime", datetime.fromisoformat(text).isoformat(timespec="minutes") + ":00"
        except ValueError:
            return _("Enter a date and time.")
    if kind == "time":
        try:
            return "valueTime", time.fromisoformat(text).isoformat(timespec="seconds")
        except ValueError:
            return _("Enter a time like 14:30.")
    if kind == "url":
        if re.match(r"^https?://\S+$", text):
            return "valueUri", text
        return _("Enter a web address starting with https://.")
    return _("This kind of question cannot be answered in this form.")


def _matches(answer: tuple[str, Any], ew: Mapping[str, Any]) -> bool:
    key = next((k for k in ew if k.startswith("answer")), None)
    if key is None:
        return False
    expected = ew[key]
    value_key, value = answer
    if key == "answerCoding":
        return (
            value_key == "valueCoding"
            and isinstance(expected, Mapping)
            and (value.get("system"), value.get("code")) == (expected.get("system"), expected.get("code"))
        )
    return bool(value == expected)


def _compare(answer: tuple[str, Any], ew: Mapping[str, Any]) -> bool:
    """One enableWhen test on one answer, as ``questionnaires.responses._compare`` does it."""
    operator = ew.get("operator")
    if operator == "=":
        return _matches(answer, ew)
    if operator == "!=":
        return not _matches(answer, ew)
    key = next((k for k in ew if k.startswith("answer")), None)
    a, b = answer[1], ew.get(key) if key else None
    if not isinstance(a, int | float | str) or type(a) is not type(b):
        return False
    return bool({">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}.get(str(operator), False))  # type: ignore[operator]


def is_enabled(
    item: Mapping[str, Any], ancestors: list[Mapping[str, Any]], answers: Mapping[str, list[tuple[str, Any]]]
) -> bool:
    """FHIR R4 enableWhen for ``item`` and every enclosing group (any/all, exists and the comparison operators)."""
    for definition in (*ancestors, item):
        conditions = definition.get("enableWhen", []) or []
        if not conditions:
            continue
        results = []
        for ew in conditions:
            given = answers.get(str(ew.get("question")), [])
            if ew.get("operator") == "exists":
                results.append(bool(given) == bool(ew.get("answerBoolean")))
            else:
                results.append(any(_compare(a, ew) for a in given))
        behaviour = definition.get("enableBehavior", "all")
        if not (all(results) if behaviour == "all" else any(results)):
            return False
    return True


def parse_form(questionnaire: Mapping[str, Any], form: MultiDict[str, str], *, complete: bool) -> ParsedForm:
    """Check a submitted form against ``questionnaire`` and build the QuestionnaireResponse items.

    :param complete: the staff submit the screening: required items must be answered, and every enabled
        question left blank is recorded as asked but not answered (the patient declined it; the extraction
        writes an Observation with ``dataAbsentReason``). When False (save for later) only answers are kept.
    """
    all_items = list(_walk(questionnaire.get("item", []) or []))
    by_link = {str(i.get("linkId")): i for i in all_items}
    answerable = {link for link, i in by_link.items() if i.get("type") in INPUT_TYPES and not _is_calculated(i)}
    values: dict[str, list[str]] = {}
    others: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    form_errors: list[str] = []

    for name in form.keys():
        if not name.startswith(FIELD_PREFIX):
            continue
        link = name[len(FIELD_PREFIX) :]
        if link.endswith(OTHER_SUFFIX) and link[: -len(OTHER_SUFFIX)] in answerable:
            base = link[: -len(OTHER_SUFFIX)]
            if by_link[base].get("type") == "open-choice":
                others[base] = form.get(name, "")[:2000]
                continue
        if link not in answerable:
            form_errors.append(_("The form contained a question this questionnaire does not have. Nothing was saved."))
            continue
        values[link] = [v[:2000] for v in form.getlist(name) if v.strip()]

    answers: dict[str, list[tuple[str, Any]]] = {}
    for link in answerable:
        item = by_link[link]
        typed: list[tuple[str, Any]] = []
        raw_values = values.get(link, [])
        if len(raw_values) > 1 and not item.get("repeats"):
            errors.setdefault(link, []).append(_("Choose only one answer."))
            continue
        options = {token: (key, value) for token, key, value, _raw in _options(item)}
        for raw in raw_values:
            if item.get("type") in ("choice", "open-choice"):
                if raw not in options:
                    errors.setdefault(link, []).append(_("Choose one of the answers shown."))
                    continue
                key, value = options[raw]
                typed.append((key, _clean_value(key, value)))
            else:
                result = _typed(item, raw)
                if isinstance(result, str):
                    errors.setdefault(link, []).append(result)
                else:
                    typed.append(result)
        other = others.get(link, "").strip()
        if other:
            if typed and not item.get("repeats"):
                errors.setdefault(link, []).append(_("Choose an answer or type another one, not both."))
                continue
            typed.append(("valueString", other))
        if item.get("repeats") and len({option_token(k, v) for k, v in typed}) != len(typed):
            errors.setdefault(link, []).append(_("The same answer was given twice."))
        if typed:
            answers[link] = typed

    def build(raw_items: list[Mapping[str, Any]], ancestors: list[Mapping[str, Any]]) -> tuple[list[dict], int]:
        built: list[dict[str, Any]] = []
        count = 0
        for item in raw_items:
            link = str(item.get("linkId"))
            if not is_enabled(item, ancestors, answers):
                continue  # never asked: not stored (answers typed there stay on the page until it is left)
            children, child_count = build(list(item.get("item", []) or []), [*ancestors, item])
            count += child_count
            if item.get("type") == "group":
                if children:
                    built.append({"linkId": link, "item": children})
                continue
            if link not in answerable:
                continue
            given = answers.get(link, [])
            if not given:
                if complete and item.get("required"):
                    errors.setdefault(link, []).append(_("Answer this question before submitting."))
                if complete:
                    built.append(
                        {"linkId": link, "text": str(item.get("text", ""))} if item.get("text") else {"linkId": link}
                    )
                continue
            count += 1
            entry: dict[str, Any] = {"linkId": link, "answer": [{key: value} for key, value in given]}
            if item.get("text"):
                entry["text"] = str(item["text"])
            if children:
                entry["item"] = children  # children of a question are siblings here (R4 allows both places)
            built.append(entry)
        return built, count

    items, answered = build(list(questionnaire.get("item", []) or []), [])
    return ParsedForm(items, values, others, errors, sorted(set(form_errors)), answered)


# ---- resuming a saved response ---------------------------------------------------------------------------------------
def values_from_response(qr: Mapping[str, Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Form values (tokens or typed text by linkId) and open-choice free texts of a stored response."""
    values: dict[str, list[str]] = {}
    others: dict[str, str] = {}

    def visit(items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            link = str(item.get("linkId"))
            for answer in item.get("answer", []) or []:
                key = next((k for k in answer if k.startswith("value")), None)
                if key is None:
                    continue
                value = answer[key]
                if key == "valueCoding":
                    values.setdefault(link, []).append(option_token(key, value))
                elif key == "valueBoolean":
                    values.setdefault(link, []).append("true" if value else "false")
                elif key in ("valueInteger", "valueDate", "valueTime", "valueUri") or key == "valueDecimal":
                    values.setdefault(link, []).append(str(value))
                elif key == "valueDateTime":
                    values.setdefault(link, []).append(str(value)[:16])
                elif key == "valueString":
                    values.setdefault(link, []).append(str(value))
                visit(answer.get("item", []) or [])
            visit(item.get("item", []) or [])

    visit(qr.get("item", []) or [])
    return values, others


def normalise_open_choice(
    questionnaire: Mapping[str, Any], values: dict[str, list[str]], others: dict[str, str]
) -> None:
    """Move stored free-text answers of open-choice items (and tokens of option strings) to where the form shows
    them: an option's token when it is one of the options, else the "other" text box."""
    for item in _walk(questionnaire.get("item", []) or []):
        link = str(item.get("linkId"))
        if item.get("type") != "open-choice" or link not in values:
            continue
        tokens = {token for token, *_rest in _options(item)}
        kept, free = [], []
        for value in values[link]:
            (kept if value in tokens else free).append(value)
        string_tokens = {option_token("valueString", v): v for v in free}
        kept += [t for t in string_tokens if t in tokens]
        free = [v for t, v in string_tokens.items() if t not in tokens]
        values[link] = kept
        if free:
            others[link] = free[0]


def issue_link_ids(items: list[dict[str, Any]], expressions: Iterable[str | None]) -> dict[str | None, list[int]]:
    """Map OperationOutcome expressions (``QuestionnaireResponse.item[2].answer[0]``) back to linkIds.

    :returns: linkId (None when the expression names no item) → indexes of the matching expressions.
    """
    found: dict[str | None, list[int]] = {}
    for index, expression in enumerate(expressions):
        link: str | None = None
        if expression and expression.startswith("QuestionnaireResponse.item"):
            node: Any = {"item": items}
            for part in re.findall(r"\.(item|answer)\[(\d+)\]", expression):
                name, position = part[0], int(part[1])
                children = node.get(name, []) if isinstance(node, dict) else []
                if position >= len(children):
                    break
                node = children[position]
                if name == "item":
                    link = node.get("linkId")
        found.setdefault(link, []).append(index)
    return found


__all__ = [
    "Choice",
    "ParsedForm",
    "RenderItem",
    "build_items",
    "is_enabled",
    "issue_link_ids",
    "item_text",
    "normalise_open_choice",
    "option_token",
    "parse_form",
    "questionnaire_title",
    "translated",
    "values_from_response",
]
