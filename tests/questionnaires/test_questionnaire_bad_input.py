"""Bad responses are rejected whole, with the FHIRPath expression of each offending element."""

from __future__ import annotations

from typing import Any

import pytest

from questionnaires import Instrument, ResponseError, extract, instrument_for_response, score
from tests.questionnaires.questionnaire_helpers import IG_EXAMPLES, LOINC, build_qr, read_json


def issues_of(qr: dict[str, Any], instrument: Instrument) -> list[tuple[str, str]]:
    with pytest.raises(ResponseError) as caught:
        extract(qr, instrument)
    with pytest.raises(ResponseError):
        score(qr, instrument)  # scoring alone rejects it too
    return caught.value.issues


def test_unknown_questionnaire_is_rejected() -> None:
    prapare = read_json(IG_EXAMPLES / "QuestionnaireResponse-SDOHCC-QuestionnaireResponsePRAPAREExample.json")
    with pytest.raises(ResponseError) as caught:
        instrument_for_response(prapare)  # PRAPARE is not shipped (licence)
    [(expression, message)] = caught.value.issues
    assert expression == "QuestionnaireResponse.questionnaire"
    assert "unknown questionnaire" in message


def test_response_for_another_instrument_is_rejected(core: Instrument, hvs: Instrument) -> None:
    qr = build_qr(hvs, {"/88122-7": "LA28397-0"})
    assert issues_of(qr, core)[0][0] == "QuestionnaireResponse.questionnaire"


def test_answer_not_in_the_answer_list_is_rejected(core: Instrument) -> None:
    qr = build_qr(core, {"/71802-3": "LA31993-1", "/93030-5": "LA28397-0"})
    [(expression, message)] = issues_of(qr, core)
    assert expression == "QuestionnaireResponse.item[1].answer[0]"
    assert "LA28397-0" in message
    assert "/93030-5" in message


def test_answer_from_another_code_system_is_rejected(core: Instrument) -> None:
    qr = build_qr(core, {"/93030-5": {"valueCoding": {"system": "http://snomed.info/sct", "code": "LA33-6"}}})
    assert issues_of(qr, core) == [
        (
            "QuestionnaireResponse.item[0].answer[0]",
            "answer http://snomed.info/sct|LA33-6 is not in the answer list of item /93030-5",
        )
    ]


def test_wrong_answer_type_is_rejected(core: Instrument) -> None:
    qr = build_qr(core, {"/88122-7": {"valueString": "Often true"}})
    [(expression, message)] = issues_of(qr, core)
    assert expression == "QuestionnaireResponse.item[0].answer[0]"
    assert "expected valueCoding, got valueString" in message


def test_unknown_link_id_is_rejected(core: Instrument) -> None:
    qr = build_qr(core, {"/88122-7": "LA28397-0", "/12345-6": "LA33-6"})
    [(expression, message)] = issues_of(qr, core)
    assert expression == "QuestionnaireResponse.item[1]"
    assert "unknown linkId '/12345-6'" in message


def test_missing_subject_id_and_authored_are_all_reported(core: Instrument) -> None:
    qr = build_qr(core, {"/88122-7": "LA28397-0"})
    for name in ("subject", "id", "authored"):
        del qr[name]
    expressions = [e for e, _ in issues_of(qr, core)]
    assert expressions == [
        "QuestionnaireResponse.id",
        "QuestionnaireResponse.subject",
        "QuestionnaireResponse.authored",
    ]


def test_in_progress_response_is_not_scored(core: Instrument) -> None:
    qr = build_qr(core, {"/88122-7": "LA28397-0"}, status="in-progress")
    assert issues_of(qr, core)[0][0] == "QuestionnaireResponse.status"


def test_two_answers_to_a_single_choice_item_are_rejected(core: Instrument) -> None:
    qr = build_qr(core, {"/88122-7": ["LA28397-0", "LA28398-8"]})
    [(expression, message)] = issues_of(qr, core)
    assert expression == "QuestionnaireResponse.item[0].answer"
    assert "allows one answer" in message


def test_duplicate_items_and_answers_are_rejected(core: Instrument) -> None:
    qr = build_qr(core, {"/96778-6": ["LA28580-1", "LA28580-1"]})
    qr["item"].append({"linkId": "/96778-6", "answer": [{"valueCoding": {"system": LOINC, "code": "LA28580-1"}}]})
    assert [e for e, _ in issues_of(qr, core)] == [
        "QuestionnaireResponse.item[0].answer[1]",
        "QuestionnaireResponse.item[1]",
    ]


def test_calculated_total_that_disagrees_with_the_rule_is_rejected(core: Instrument) -> None:
    answers: dict[str, Any] = {li: "LA6270-8" for li in ("/95618-5", "/95617-7", "/95616-9", "/95615-1")}
    answers["/95614-4"] = {"valueInteger": 5}
    [(expression, message)] = issues_of(build_qr(core, answers), core)
    assert expression == "QuestionnaireResponse.item[4].answer[0]"
    assert "says 5" in message
    assert "gives 4" in message
    answers["/95614-4"] = {"valueInteger": 4}
    assert extract(build_qr(core, answers), core).findings.scores["safety-total"].value == 4


def test_every_issue_is_reported_at_once(core: Instrument) -> None:
    qr = build_qr(core, {"/71802-3": "LA0000-0", "/88122-7": {"valueBoolean": True}, "/nope": "LA33-6"})
    assert len(issues_of(qr, core)) == 3


def test_operation_outcome_carries_the_expressions(core: Instrument) -> None:
    with pytest.raises(ResponseError) as caught:
        score(build_qr(core, {"/nope": "LA33-6"}), core)
    outcome = caught.value.operation_outcome()
    assert outcome["issue"][0]["expression"] == ["QuestionnaireResponse.item[0]"]
    assert outcome["issue"][0]["severity"] == "error"


@pytest.mark.parametrize("garbage", [None, [], "qr", {"resourceType": "Patient"}])
def test_non_response_input_is_rejected(core: Instrument, garbage: Any) -> None:
    with pytest.raises(ResponseError):
        score(garbage, core)  # type: ignore[arg-type]
