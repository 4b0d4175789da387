"""Score a QuestionnaireResponse: which domains are positive, item by item and score by score.

Pure functions over data: no Flask, no database, no clock.  The rules come from the instrument's rule table
(``rules/*.yaml``); this module only knows the three ways answers combine (``sum``, ``product``,
``any-positive``) and the thresholds the rule file gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.errors import ResponseError
from questionnaires.loader import Instrument
from questionnaires.responses import Answer, ParsedResponse, parse_response
from questionnaires.rules import Positive, ScoreRule


@dataclass(frozen=True)
class ItemResult:
    """The outcome for one answered (or declined) item."""

    link_id: str
    code: str | None
    answers: tuple[str, ...]  # answer codes (Coding) or the answer values as text
    positive: bool
    positive_answers: tuple[str, ...]  # the answers that carry interpretation POS
    positive_domains: tuple[str, ...]
    declined: bool
    data_absent_reason: str | None


@dataclass(frozen=True)
class ScoreResult:
    """A derived result (safety total, HVS risk, PHQ-2 …); ``complete`` False when inputs were missing."""

    key: str
    code: str | None
    value: int | float | None  # numeric scores
    result: str | None  # coded results (e.g. LA19952-3 At risk)
    positive: bool
    complete: bool
    inputs: tuple[str, ...]  # linkIds that fed the score
    verified: bool


@dataclass(frozen=True)
class Evidence:
    """Why a domain is positive: an item (linkId) or a score (``score:<key>``), and the concern it proposes."""

    source: str
    condition: str | None
    verified: bool


@dataclass(frozen=True)
class DomainFinding:
    """A positive domain with its SDOHCC category and the evidence for it."""

    key: str
    category: str
    category_display: str
    text: str | None
    evidence: tuple[Evidence, ...]

    @property
    def verified(self) -> bool:
        """False when any rule that fired is one the spec marks unverified ([K])."""
        return all(e.verified for e in self.evidence)


@dataclass(frozen=True)
class Findings:
    """Everything scoring concluded about one response."""

    instrument: str
    questionnaire: str
    positive_domains: tuple[str, ...]
    domains: Mapping[str, DomainFinding]
    items: tuple[ItemResult, ...]
    scores: Mapping[str, ScoreResult]
    declined: tuple[str, ...]  # linkIds asked but not answered, or answered "don't know/refused"
    incomplete_scores: tuple[str, ...]  # scores not computed because inputs were missing: follow up

    @property
    def positive_categories(self) -> tuple[str, ...]:
        """The SDOHCC category codes of the positive domains (several domains may share one)."""
        return tuple(dict.fromkeys(d.category for d in self.domains.values()))

    def item(self, link_id: str) -> ItemResult:
        for result in self.items:
            if result.link_id == link_id:
                return result
        raise KeyError(link_id)


def _answer_label(answer: Answer) -> str:
    if answer.value_key == "valueCoding":
        return str(answer.value.get("code"))
    return str(answer.value)


def _usable(answers: tuple[Answer, ...]) -> list[Answer]:
    """Answers that count for scoring: a "don't know/refused" option is recorded but never counts."""
    return [a for a in answers if not (a.option and a.option.rule and a.option.rule.declined)]


def _points(answers: list[Answer]) -> float:
    return sum((a.option.rule.points or 0.0) for a in answers if a.option and a.option.rule)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class _Scorer:
    def __init__(self, parsed: ParsedResponse, instrument: Instrument) -> None:
        self.parsed = parsed
        self.instrument = instrument
        self.calculated = {s.link_id for s in instrument.rules.scores.values() if s.link_id}
        # linkId -> (positive answer labels, positives) ; mutable while scoring
        self.item_pos: dict[str, tuple[list[str], list[Positive]]] = {}
        self.evidence: dict[str, list[Evidence]] = {}

    def add_evidence(self, positives: tuple[Positive, ...] | list[Positive], source: str, verified: bool) -> None:
        for p in positives:
            self.evidence.setdefault(p.domain, []).append(Evidence(source, p.condition, verified))

    def score_items(self) -> None:
        for link_id, response in self.parsed.items.items():
            if link_id in self.calculated:
                continue
            labels: list[str] = []
            positives: list[Positive] = []
            for answer in response.answers:
                rule = answer.option.rule if answer.option else None
                if rule and rule.positives:
                    labels.append(_answer_label(answer))
                    positives.extend(p for p in rule.positives if p not in positives)
            self.item_pos[link_id] = (labels, positives)

    def input_state(self, score: ScoreRule) -> tuple[list[str], dict[str, list[Answer]], int]:
        link_ids = [self.instrument.link_ids_by_code[code] for code in score.of]
        usable: dict[str, list[Answer]] = {}
        for link_id in link_ids:
            response = self.parsed.items.get(link_id)
            answers = _usable(response.answers) if response else []
            if answers:
                usable[link_id] = answers
        return link_ids, usable, len(usable)

    def run_score(self, score: ScoreRule) -> ScoreResult:
        link_ids, usable, answered = self.input_state(score)
        complete = answered == len(link_ids) if score.when == "all-answered" else answered > 0
        value: int | float | None = None
        result: str | None = None
        positive = False
        if score.combine == "any-positive":
            if complete:
                positive = any(self.item_pos.get(link_id, ([], []))[1] for link_id in usable)
                chosen = score.result_positive if positive else score.result_negative
                result = chosen.get("code") if chosen else None
        else:
            factors = [_points(answers) for answers in usable.values()]
            if score.combine == "product" and 0.0 in factors:
                complete = True  # zero days means zero minutes, whatever was (not) asked next
                value = 0
            elif complete:
                total = 0.0 if score.combine == "sum" else 1.0
                for factor in factors:
                    total = total + factor if score.combine == "sum" else total * factor
                value = _number(total)
            if value is not None:
                positive = score.is_positive(float(value))
        if positive:
            self.add_evidence(score.positives, f"score:{score.key}", score.verified)
            if score.flag_items:
                for link_id, answers in usable.items():
                    labels, positives = self.item_pos.setdefault(link_id, ([], []))
                    labels.extend(_answer_label(a) for a in answers if _answer_label(a) not in labels)
                    positives.extend(p for p in score.positives if p not in positives)
        return ScoreResult(
            key=score.key,
            code=score.code,
            value=value,
            result=result,
            positive=positive,
            complete=complete,
            inputs=tuple(link_id for link_id in link_ids if link_id in usable),
            verified=score.verified,
        )

    def check_calculated(self, scores: Mapping[str, ScoreResult]) -> None:
        """A response may carry the calculated answers its renderer computed; they must agree with ours."""
        issues: list[tuple[str, str]] = []
        for score in self.instrument.rules.scores.values():
            response = self.parsed.items.get(score.link_id) if score.link_id else None
            if response is None or not response.answers:
                continue
            ours = scores[score.key]
            given = response.answers[0]
            theirs: Any = given.value.get("code") if given.value_key == "valueCoding" else given.value
            expected: Any = ours.result if score.combine == "any-positive" else ours.value
            same = (
                theirs == expected
                if not isinstance(theirs, int | float)
                else (expected is not None and float(theirs) == float(expected))
            )
            if not same:
                issues.append(
                    (
                        given.path,
                        f"calculated item {score.link_id} says {theirs!r} but the instrument's rule gives "
                        f"{expected!r}" + ("" if ours.complete else " (its inputs are incomplete)"),
                    )
                )
        if issues:
            raise ResponseError(issues)

    def findings(self) -> Findings:
        self.score_items()
        scores = {key: self.run_score(rule) for key, rule in self.instrument.rules.scores.items()}
        self.check_calculated(scores)
        items: list[ItemResult] = []
        declined: list[str] = []
        for link_id, response in self.parsed.items.items():
            if link_id in self.calculated or response.item.type in ("group", "display"):
                continue
            labels, positives = self.item_pos.get(link_id, ([], []))
            rule = response.item.rule
            answered = _usable(response.answers)
            is_declined = not answered
            if is_declined:
                declined.append(link_id)
            if labels and rule is not None:
                # scores add their own evidence; items only count their own answer rules here
                own = [p for a in response.answers if a.option and a.option.rule for p in a.option.rule.positives]
                self.add_evidence(list(dict.fromkeys(own)), link_id, rule.verified)
            items.append(
                ItemResult(
                    link_id=link_id,
                    code=response.item.coding.get("code") if response.item.coding else None,
                    answers=tuple(_answer_label(a) for a in response.answers),
                    positive=bool(labels),
                    positive_answers=tuple(labels),
                    positive_domains=tuple(p.domain for p in positives),
                    declined=is_declined,
                    data_absent_reason=response.data_absent_reason,
                )
            )
        rules = self.instrument.rules
        domains = {}
        for key, evidence in self.evidence.items():
            domain = rules.domains[key]
            domains[key] = DomainFinding(key, domain.category, domain.category_display, domain.text, tuple(evidence))
        ordered = dict(sorted(domains.items(), key=lambda kv: self._first_seen(kv[1])))
        return Findings(
            instrument=self.instrument.key,
            questionnaire=self.instrument.canonical,
            positive_domains=tuple(ordered),
            domains=ordered,
            items=tuple(items),
            scores=scores,
            declined=tuple(declined),
            incomplete_scores=tuple(
                key
                for key, result in scores.items()
                if not result.complete
                and any(self.instrument.link_ids_by_code[c] in self.parsed.items for c in rules.scores[key].of)
            ),
        )

    def _first_seen(self, finding: DomainFinding) -> int:
        order = list(self.instrument.items)
        positions = []
        for e in finding.evidence:
            if e.source.startswith("score:"):
                positions.append(len(order) + list(self.instrument.rules.scores).index(e.source[6:]))
            else:
                positions.append(order.index(e.source))
        return min(positions)


def evaluate(parsed: ParsedResponse, instrument: Instrument) -> Findings:
    """Score an already-checked response (``extract`` reuses the parse)."""
    return _Scorer(parsed, instrument).findings()


def score(qr: dict, instrument: Instrument) -> Findings:
    """Score a QuestionnaireResponse with the instrument's rule table.

    :raises ResponseError: if the response does not fit the instrument; nothing is returned then.
    """
    return evaluate(parse_response(qr, instrument), instrument)
