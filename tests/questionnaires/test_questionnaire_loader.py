"""Bring-your-own instrument: load_instrument validates a Questionnaire + rule table with clear errors."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

import questionnaires
from questionnaires import Instrument, InstrumentError, ResponseError, extract, load_instrument, score
from tests.questionnaires.questionnaire_helpers import LOINC, build_qr, validate_r4

LOCAL_URL = "http://clinic.example.org/Questionnaire/local-screen"


def coding(code: str, display: str) -> dict[str, Any]:
    return {"valueCoding": {"system": LOINC, "code": code, "display": display}}


# A clinic's own instrument. It reuses LOINC 93030-5 with a multi-select answer list that differs from AHC's,
# to show rules are keyed per instrument. Neutral placeholder text: no licensed wording in the repository.
LOCAL_QUESTIONNAIRE: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "url": LOCAL_URL,
    "version": "1",
    "status": "active",
    "item": [
        {
            "linkId": "needs",
            "type": "group",
            "text": "Needs",
            "item": [
                {
                    "linkId": "transport",
                    "code": [{"system": LOINC, "code": "93030-5"}],
                    "text": "Transportation question (placeholder text)",
                    "type": "choice",
                    "repeats": True,
                    "answerOption": [
                        coding("LA30133-5", "Medical"),
                        coding("LA30134-3", "Non-medical"),
                        coding("LA32-8", "No"),
                    ],
                },
                {
                    "linkId": "household",
                    "code": [{"system": LOINC, "code": "63512-8"}],
                    "text": "People in household (placeholder text)",
                    "type": "integer",
                },
                {"linkId": "note", "text": "Staff note", "type": "string"},
            ],
        }
    ],
}
LOCAL_RULES: dict[str, Any] = {
    "instrument": {"key": "local-screen", "url": LOCAL_URL, "version": "1"},
    "questions": {
        "93030-5": {
            "domains": ["transportation-insecurity"],
            "verified": False,
            "source": "clinic policy",
            "answers": {
                "LA30133-5": {"positive": "transportation-insecurity"},
                "LA30134-3": {"positive": "transportation-insecurity"},
                "LA32-8": {},
            },
        }
    },
}


def write(tmp_path: Path, questionnaire: Any, rules: Any) -> tuple[Path, Path]:
    q_path, r_path = tmp_path / "q.json", tmp_path / "rules.yaml"
    q_path.write_text(json.dumps(questionnaire), encoding="utf-8")
    r_path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return q_path, r_path


def load_errors(tmp_path: Path, questionnaire: Any, rules: Any) -> list[str]:
    with pytest.raises(InstrumentError) as caught:
        load_instrument(*write(tmp_path, questionnaire, rules))
    return caught.value.messages


@pytest.fixture
def local(tmp_path: Path) -> Instrument:
    return load_instrument(*write(tmp_path, LOCAL_QUESTIONNAIRE, LOCAL_RULES))


def test_local_instrument_scores_and_extracts_nested_items(local: Instrument) -> None:
    qr = build_qr(local, {})
    qr["item"] = [
        {
            "linkId": "needs",
            "item": [
                {"linkId": "transport", "answer": [coding("LA30133-5", "Medical"), coding("LA32-8", "No")]},
                {"linkId": "household", "answer": [{"valueInteger": 4}]},
                {"linkId": "note", "answer": [{"valueString": "spoke by phone"}]},
            ],
        }
    ]
    extraction = extract(qr, local)
    assert extraction.findings.positive_domains == ("transportation-insecurity",)
    assert extraction.findings.domains["transportation-insecurity"].verified is False
    observations = [r for r in extraction.resources if r["resourceType"] == "Observation"]
    # two transport answers (one POS) + household size; the uncoded note gives no Observation; no panel code
    assert [o["code"]["coding"][0]["code"] for o in observations] == ["93030-5", "93030-5", "63512-8"]
    assert [("interpretation" in o) for o in observations] == [True, False, False]
    assert observations[2]["valueInteger"] == 4
    for resource in extraction.resources:
        validate_r4(resource)


def test_same_question_code_follows_each_instruments_own_answer_list(local: Instrument) -> None:
    qr = build_qr(local, {})
    qr["item"] = [{"linkId": "needs", "item": [{"linkId": "transport", "answer": [coding("LA33-6", "Yes")]}]}]
    with pytest.raises(ResponseError) as caught:
        score(qr, local)  # AHC's "Yes" is not an answer of this instrument's 93030-5
    assert caught.value.issues[0][0] == "QuestionnaireResponse.item[0].item[0].answer[0]"


def test_loaded_instruments_can_be_looked_up_alongside_shipped_ones(local: Instrument) -> None:
    pool = [*questionnaires.list_instruments(), local]
    qr = build_qr(local, {})
    assert questionnaires.instrument_for_response(qr, pool) is local
    assert questionnaires.get_instrument(LOCAL_URL, instruments=pool) is local
    with pytest.raises(ResponseError):
        questionnaires.instrument_for_response(qr)  # not shipped


def test_shipped_files_load_through_the_same_path() -> None:
    package = Path(str(resources.files("questionnaires")))
    for key in ("ahc-hrsn-core", "ahc-hrsn-supplemental", "hunger-vital-sign"):
        instrument = load_instrument(package / "instruments" / f"{key}.json", package / "rules" / f"{key}.yaml")
        assert instrument.key == key


def _rules(answers: dict[str, Any] | None = None, drop_verified: bool = False, **top: Any) -> dict[str, Any]:
    """LOCAL_RULES with one thing broken."""
    rules = copy.deepcopy(LOCAL_RULES)
    question = rules["questions"]["93030-5"]
    if answers is not None:
        question["answers"] = answers
    if drop_verified:
        del question["verified"]
    rules.update(top)
    return rules


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            _rules(answers={"LA30133-5": {"positive": "transportation-insecurity"}, "LA30134-3": {}, "LA99-9": {}}),
            [
                "rule answer LA99-9 is not an answerOption of item transport",
                "answerOption LA32-8 of item transport has no rule",
            ],
        ),
        (
            _rules(answers={"LA30133-5": {"positive": "transport"}, "LA30134-3": {}, "LA32-8": {}}),
            ["domain 'transport' is neither an SDOHCC category code nor defined under 'domains'"],
        ),
        (_rules(drop_verified=True), ["question 93030-5: 'verified' is required"]),
        (
            _rules(instrument={"key": "x", "url": "http://elsewhere.example.org/Q", "version": "1"}),
            ["rules are for http://elsewhere.example.org/Q, the Questionnaire url is " + LOCAL_URL],
        ),
        (
            _rules(questions={"11111-1": {"verified": True, "answers": {}}}),
            ["rules name question 11111-1, but no Questionnaire item has that code"],
        ),
        (
            _rules(scores={"s": {"combine": "sum", "of": ["93030-5"], "positive_if": "at least 3", "verified": True}}),
            [
                "answers ['LA30133-5', 'LA30134-3', 'LA32-8'] of question 93030-5 need 'points'",
                "positive_if must look like '>= 11'",
            ],
        ),
        (
            _rules(
                answers={
                    "LA30133-5": {"positive": "transportation-insecurity", "condition": "nope"},
                    "LA30134-3": {},
                    "LA32-8": {},
                }
            ),  # fmt: skip
            ["unknown condition 'nope'"],
        ),
        (["not", "a", "mapping"], ["a rule file must be a YAML mapping"]),
    ],
    ids=["answers", "domain", "verified", "url", "question", "score", "condition", "shape"],
)
def test_bad_rule_files_are_reported_clearly(tmp_path: Path, rules: Any, expected: list[str]) -> None:
    messages = load_errors(tmp_path, LOCAL_QUESTIONNAIRE, rules)
    for fragment in expected:
        assert any(fragment in m for m in messages), (fragment, messages)


def test_bad_questionnaire_is_reported_with_every_problem(tmp_path: Path) -> None:
    questionnaire = copy.deepcopy(LOCAL_QUESTIONNAIRE)
    del questionnaire["status"]  # required by R4
    group = questionnaire["item"][0]["item"]
    group[1]["linkId"] = "transport"  # duplicate
    group.append({"linkId": "pick", "type": "choice", "text": "Pick", "answerValueSet": "http://x"})
    messages = load_errors(tmp_path, questionnaire, LOCAL_RULES)
    assert any("not valid FHIR R4: status" in m for m in messages), messages
    assert any("linkId transport is used twice" in m for m in messages)
    assert any("item pick is choice without answerOption" in m for m in messages)


def test_unreadable_files_are_reported(tmp_path: Path) -> None:
    q_path, r_path = tmp_path / "q.json", tmp_path / "r.yaml"
    q_path.write_text("{not json", encoding="utf-8")
    r_path.write_text("a: [unclosed", encoding="utf-8")
    with pytest.raises(InstrumentError) as caught:
        load_instrument(q_path, r_path)
    assert [m.split(":")[0] for m in caught.value.messages] == [str(q_path), str(r_path)]
    assert "cannot read Questionnaire JSON" in str(caught.value)
