"""Rule tables: how an instrument's answers become positive domains, scores and health concerns.

A rule table is data (``rules/<instrument>.yaml``, format in ``README.md``) so that clinics can load a
licensed instrument with its own rules without code changes (issue 4 scope 6).  Rules are keyed on
(instrument, question LOINC, answer LOINC) — never on the question alone — because the same LOINC
question has different answer lists in different instruments (``screening-instruments.md`` §1).

This module only parses and checks the table on its own; ``loader.py`` checks it against its Questionnaire.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from questionnaires.codes import SDOHCC_CATEGORIES, ConditionCode, parse_condition_codes, shipped_condition_codes
from questionnaires.errors import InstrumentError

COMBINE_METHODS = ("sum", "product", "any-positive")
WHEN_VALUES = ("all-answered", "any-answered")
_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<|==)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_UNSET = object()


@dataclass(frozen=True)
class Domain:
    """A screening domain: the SDOHCC category it is filed under and the health concern it proposes.

    ``key`` equals the SDOHCC category code when one exists; domains without one (e.g. AHC safety)
    use ``sdoh-category-unspecified`` plus ``text`` (``gravity-sdoh-cc.md`` §7.1).
    """

    key: str
    category: str
    text: str | None
    condition: str | None

    @property
    def category_display(self) -> str:
        return SDOHCC_CATEGORIES[self.category]


@dataclass(frozen=True)
class Positive:
    """One domain an answer (or score) flags, with the health-concern code it proposes (or None)."""

    domain: str
    condition: str | None


@dataclass(frozen=True)
class AnswerRule:
    """What one answer (LOINC LA code) of one question means."""

    code: str
    positives: tuple[Positive, ...] = ()
    points: float | None = None
    declined: bool = False  # a "Don't know/refused" style answer: recorded, never counted as answering
    exclusive: bool = False  # cannot be combined with other answers ("None of the above")


@dataclass(frozen=True)
class QuestionRule:
    """Rules for one question (by LOINC code) of this instrument."""

    code: str
    domains: tuple[str, ...]  # categories stamped on this item's Observations, positive or not
    answers: Mapping[str, AnswerRule]
    verified: bool
    source: str


@dataclass(frozen=True)
class ScoreRule:
    """A derived result computed from several questions (safety total, HVS risk, PHQ-2 …)."""

    key: str
    combine: str
    of: tuple[str, ...]
    when: str
    positives: tuple[Positive, ...]
    verified: bool
    source: str
    code: str | None = None
    display: str | None = None
    link_id: str | None = None
    threshold: tuple[str, float] | None = None
    result_positive: Mapping[str, str] | None = None
    result_negative: Mapping[str, str] | None = None
    flag_items: bool = False

    def is_positive(self, value: float) -> bool:
        """Apply ``positive_if`` to a numeric score."""
        if self.threshold is None:
            return False
        op, limit = self.threshold
        return _OPERATORS[op](value, limit)


@dataclass(frozen=True)
class RuleTable:
    """The parsed rule file of one instrument."""

    key: str
    url: str
    version: str
    panel_code: str | None
    panel_display: str | None
    domains: Mapping[str, Domain]
    questions: Mapping[str, QuestionRule]
    scores: Mapping[str, ScoreRule]
    conditions: Mapping[str, ConditionCode] = field(repr=False)

    def unverified_rules(self) -> list[str]:
        """Names of the rules the spec marks as not verified ([K]); shown to administrators."""
        names = [f"question {q.code}" for q in self.questions.values() if not q.verified]
        return names + [f"score {s.key}" for s in self.scores.values() if not s.verified]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class _Parser:
    """Collects every problem in a rule file instead of stopping at the first one."""

    def __init__(self, data: Any, where: str) -> None:
        self.data = data
        self.where = where
        self.errors: list[str] = []

    def err(self, message: str) -> None:
        self.errors.append(f"{self.where}: {message}")

    def parse(self) -> RuleTable:
        if not isinstance(self.data, dict):
            raise InstrumentError([f"{self.where}: a rule file must be a YAML mapping"])
        unknown = set(self.data) - {"instrument", "domains", "questions", "scores", "conditions"}
        for key in sorted(unknown):
            self.err(f"unknown top-level key '{key}'")
        inst = self.data.get("instrument")
        if not isinstance(inst, dict):
            self.err("missing 'instrument' mapping (key, url, version)")
            inst = {}
        for name in ("key", "url", "version"):
            if not inst.get(name):
                self.err(f"instrument.{name} is required")
        panel = inst.get("panel") or {}
        conditions = dict(shipped_condition_codes())
        if "conditions" in self.data:
            own, errors = parse_condition_codes(self.data["conditions"], self.where)
            self.errors.extend(errors)
            conditions.update(own)
        self.conditions = conditions
        domains = self._domains(self.data.get("domains") or {})
        self.domains = domains
        questions = self._questions(self.data.get("questions"))
        scores = self._scores(self.data.get("scores") or {}, questions)
        used = {d for q in questions.values() for d in q.domains}
        used |= {p.domain for q in questions.values() for a in q.answers.values() for p in a.positives}
        used |= {p.domain for s in scores.values() for p in s.positives}
        for key in sorted(used - set(domains)):
            if key in SDOHCC_CATEGORIES:
                domains[key] = Domain(key, key, None, key if key in conditions else None)
            else:
                self.err(
                    f"domain '{key}' is neither an SDOHCC category code nor defined under 'domains' "
                    f"(known categories: {', '.join(sorted(SDOHCC_CATEGORIES))})"
                )
        if self.errors:
            raise InstrumentError(self.errors)
        return RuleTable(
            key=str(inst["key"]),
            url=str(inst["url"]),
            version=str(inst["version"]),
            panel_code=str(panel["code"]) if panel.get("code") else None,
            panel_display=str(panel["display"]) if panel.get("display") else None,
            domains=domains,
            questions=questions,
            scores=scores,
            conditions=conditions,
        )

    def _condition(self, raw: Any, where: str) -> str | None:
        if raw is None:
            return None
        if str(raw) not in self.conditions:
            self.err(f"{where}: unknown condition '{raw}' (define it under 'conditions')")
            return None
        return str(raw)

    def _domains(self, raw: Any) -> dict[str, Domain]:
        out: dict[str, Domain] = {}
        if not isinstance(raw, dict):
            self.err("'domains' must be a mapping")
            return out
        for key, spec in raw.items():
            spec = spec or {}
            category = str(spec.get("category", key))
            if category not in SDOHCC_CATEGORIES:
                self.err(f"domain '{key}': category '{category}' is not an SDOHCC category code")
                continue
            if category == "sdoh-category-unspecified" and not spec.get("text"):
                self.err(f"domain '{key}': sdoh-category-unspecified needs a 'text' naming the domain")
            default = str(key) if str(key) in self.conditions else None
            condition = spec["condition"] if "condition" in spec else default
            out[str(key)] = Domain(
                key=str(key),
                category=category,
                text=str(spec["text"]) if spec.get("text") else None,
                condition=self._condition(condition, f"domain '{key}'"),
            )
        return out

    def _positives(self, raw: Any, condition: Any, where: str) -> tuple[Positive, ...]:
        out = []
        for domain in _as_list(raw):
            dom = self.domains.get(str(domain))
            if condition is not _UNSET:
                cond = self._condition(condition, where)
            elif dom is not None:
                cond = dom.condition
            else:
                cond = str(domain) if str(domain) in self.conditions else None
            out.append(Positive(str(domain), cond))
        return tuple(out)

    def _questions(self, raw: Any) -> dict[str, QuestionRule]:
        out: dict[str, QuestionRule] = {}
        if not isinstance(raw, dict) or not raw:
            self.err("'questions' must be a non-empty mapping keyed by question code")
            return out
        for code, spec in raw.items():
            where = f"question {code}"
            if not isinstance(spec, dict):
                self.err(f"{where}: must be a mapping")
                continue
            if "verified" not in spec:
                self.err(f"{where}: 'verified' is required (false for rules the spec marks [K])")
            answers: dict[str, AnswerRule] = {}
            for answer, arule in (spec.get("answers") or {}).items():
                arule = arule or {}
                awhere = f"{where} answer {answer}"
                extra = set(arule) - {"positive", "points", "declined", "exclusive", "condition"}
                if extra:
                    self.err(f"{awhere}: unknown keys {sorted(extra)}")
                points = arule.get("points")
                if points is not None and not isinstance(points, int | float):
                    self.err(f"{awhere}: points must be a number")
                    points = None
                if arule.get("declined") and arule.get("positive"):
                    self.err(f"{awhere}: a declined answer cannot be positive")
                answers[str(answer)] = AnswerRule(
                    code=str(answer),
                    positives=self._positives(
                        arule.get("positive"),
                        arule["condition"] if "condition" in arule else _UNSET,
                        awhere,
                    ),
                    points=float(points) if points is not None else None,
                    declined=bool(arule.get("declined", False)),
                    exclusive=bool(arule.get("exclusive", False)),
                )
            out[str(code)] = QuestionRule(
                code=str(code),
                domains=tuple(str(d) for d in _as_list(spec.get("domains"))),
                answers=answers,
                verified=bool(spec.get("verified", False)),
                source=str(spec.get("source", "")),
            )
        return out

    def _scores(self, raw: Any, questions: Mapping[str, QuestionRule]) -> dict[str, ScoreRule]:
        out: dict[str, ScoreRule] = {}
        if not isinstance(raw, dict):
            self.err("'scores' must be a mapping")
            return out
        for key, spec in raw.items():
            where = f"score {key}"
            if not isinstance(spec, dict):
                self.err(f"{where}: must be a mapping")
                continue
            combine = spec.get("combine")
            if combine not in COMBINE_METHODS:
                self.err(f"{where}: combine must be one of {', '.join(COMBINE_METHODS)}")
            when = spec.get("when", "all-answered")
            if when not in WHEN_VALUES:
                self.err(f"{where}: when must be one of {', '.join(WHEN_VALUES)}")
            if "verified" not in spec:
                self.err(f"{where}: 'verified' is required (false for rules the spec marks [K])")
            of = tuple(str(c) for c in _as_list(spec.get("of")))
            if not of:
                self.err(f"{where}: 'of' must list the questions it combines")
            for code in of:
                if code not in questions:
                    self.err(f"{where}: question {code} in 'of' has no rule under 'questions'")
                elif combine in ("sum", "product"):
                    missing = [a.code for a in questions[code].answers.values() if a.points is None and not a.declined]
                    if missing:
                        self.err(f"{where}: answers {missing} of question {code} need 'points' to be {combine}med")
            threshold = None
            if spec.get("positive_if") is not None:
                match = _THRESHOLD.match(str(spec["positive_if"]))
                if match is None:
                    self.err(f"{where}: positive_if must look like '>= 11' (operators >=, <=, >, <, ==)")
                else:
                    threshold = (match.group(1), float(match.group(2)))
            elif combine in ("sum", "product"):
                self.err(f"{where}: a {combine} score needs 'positive_if'")
            result = spec.get("result") or {}
            if (
                combine == "any-positive"
                and spec.get("code")
                and not (result.get("positive") and result.get("negative"))
            ):
                self.err(f"{where}: an any-positive score with a code needs result.positive and result.negative codes")
            if spec.get("link_id") and not spec.get("code"):
                self.err(f"{where}: link_id needs the score's 'code' (its Observation code)")
            out[str(key)] = ScoreRule(
                key=str(key),
                combine=str(combine),
                of=of,
                when=str(when),
                positives=self._positives(
                    spec.get("domains"), spec["condition"] if "condition" in spec else _UNSET, where
                ),
                verified=bool(spec.get("verified", False)),
                source=str(spec.get("source", "")),
                code=str(spec["code"]) if spec.get("code") else None,
                display=str(spec["display"]) if spec.get("display") else None,
                link_id=str(spec["link_id"]) if spec.get("link_id") else None,
                threshold=threshold,
                result_positive={k: str(v) for k, v in result["positive"].items()} if result.get("positive") else None,
                result_negative={k: str(v) for k, v in result["negative"].items()} if result.get("negative") else None,
                flag_items=bool(spec.get("flag_items", False)),
            )
        return out


def parse_rule_table(data: Any, where: str = "rules") -> RuleTable:
    """Parse a rule file already loaded from YAML.

    :raises InstrumentError: with every problem found.
    """
    return _Parser(data, where).parse()
