"""Table-driven scoring tests: every answer option of every shipped item against the spec's rules.

The expectations below are transcribed from ../shared/spec/screening-instruments.md §2.4 and §3, not read
from the rule files, so a wrong rule file fails here.  ``test_tables_cover_every_answer_option`` fails when
a Questionnaire gains an answer option that has no expectation.
"""

from __future__ import annotations

import itertools

import pytest

from questionnaires import Instrument, ResponseError, score
from tests.questionnaires.questionnaire_helpers import build_qr

# (linkId, answer, domains that answer alone makes positive) — spec §2.4, AHC core.
CORE_SINGLE = [
    ("/71802-3", "LA31993-1", ()),
    ("/71802-3", "LA31994-9", ("housing-instability",)),
    ("/71802-3", "LA31995-6", ("homelessness",)),
    ("/96778-6", "LA31996-4", ("inadequate-housing",)),
    ("/96778-6", "LA28580-1", ("inadequate-housing",)),
    ("/96778-6", "LA31997-2", ("inadequate-housing",)),
    ("/96778-6", "LA31998-0", ("inadequate-housing",)),
    ("/96778-6", "LA31999-8", ("inadequate-housing",)),
    ("/96778-6", "LA32000-4", ("inadequate-housing",)),
    ("/96778-6", "LA32001-2", ("inadequate-housing",)),
    ("/96778-6", "LA9-3", ()),
    ("/88122-7", "LA28397-0", ("food-insecurity",)),
    ("/88122-7", "LA6729-3", ("food-insecurity",)),
    ("/88122-7", "LA28398-8", ()),
    ("/88123-5", "LA28397-0", ("food-insecurity",)),
    ("/88123-5", "LA6729-3", ("food-insecurity",)),
    ("/88123-5", "LA28398-8", ()),
    ("/93030-5", "LA33-6", ("transportation-insecurity",)),
    ("/93030-5", "LA32-8", ()),
    ("/96779-4", "LA33-6", ("utility-insecurity",)),
    ("/96779-4", "LA32-8", ()),
    ("/96779-4", "LA32002-0", ("utility-insecurity",)),
]
# HITS points (spec §2.4 SAFETY_SCORE): Never=1 Rarely=2 Sometimes=3 Fairly often=4 Frequently=5.
HITS_POINTS = {"LA6270-8": 1, "LA10066-1": 2, "LA10082-8": 3, "LA16644-9": 4, "LA6482-9": 5}
SAFETY_ITEMS = ["/95618-5", "/95617-7", "/95616-9", "/95615-1"]

NEVER_5 = ["LA6270-8", "LA26460-8", "LA18876-5", "LA18891-4", "LA18934-2"]
SUPPLEMENTAL_SINGLE = [
    ("/76513-1", "LA15832-1", ("financial-insecurity",)),
    ("/76513-1", "LA22683-9", ("financial-insecurity",)),
    ("/76513-1", "LA31980-8", ()),
    ("/96780-2", "LA31981-6", ("employment-status",)),
    ("/96780-2", "LA31982-4", ("employment-status",)),
    ("/96780-2", "LA31983-2", ()),
    ("/96781-0", "LA31976-6", ()),
    ("/96781-0", "LA31977-4", ()),
    ("/96781-0", "LA31978-2", ("social-connection",)),
    ("/96781-0", "LA31979-0", ("social-connection",)),
    ("/93159-2", "LA6270-8", ()),
    ("/93159-2", "LA10066-1", ()),
    ("/93159-2", "LA10082-8", ()),
    ("/93159-2", "LA10044-8", ("social-connection",)),
    ("/93159-2", "LA9933-8", ("social-connection",)),
    ("/97027-7", "LA33-6", ("language-access",)),
    ("/97027-7", "LA32-8", ()),
    ("/96782-8", "LA33-6", ("education-training",)),
    ("/96782-8", "LA32-8", ()),
    ("/93038-8", "LA6568-5", ()),
    ("/93038-8", "LA13863-8", ()),
    ("/93038-8", "LA13909-9", ()),
    ("/93038-8", "LA13902-4", ("stress",)),
    ("/93038-8", "LA13914-9", ("stress",)),
    ("/69858-9", "LA33-6", ("disability-status",)),
    ("/69858-9", "LA32-8", ()),
    ("/69861-3", "LA33-6", ("disability-status",)),
    ("/69861-3", "LA32-8", ()),
] + [
    (link_id, code, () if code == "LA6270-8" else ("substance-use",))
    for link_id in ("/68517-2", "/96842-0", "/95530-2", "/68524-8")
    for code in NEVER_5
]
PHQ_POINTS = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
DAYS = {
    "LA6111-4": 0,
    "LA6112-2": 1,
    "LA6113-0": 2,
    "LA6114-8": 3,
    "LA6115-5": 4,
    "LA10137-0": 5,
    "LA10138-8": 6,
    "LA10139-6": 7,
}
MINUTES = {
    "LA6111-4": 0, "LA13942-0": 10, "LA19282-5": 20, "LA28855-7": 30, "LA28858-1": 40,
    "LA28854-0": 50, "LA28853-2": 60, "LA28891-2": 90, "LA32059-0": 120, "LA32060-8": 150,
}  # fmt: skip
HVS_ANSWERS = {"LA28397-0": "risk", "LA6729-3": "risk", "LA28398-8": "no-risk", "LA15775-2": "refused"}
# (spec [K] rules; the rule file must flag them verified: false)
SUPPLEMENTAL_UNVERIFIED = {
    "76513-1", "96781-0", "93159-2", "97027-7", "89555-7", "68516-4", "68517-2",
    "96842-0", "95530-2", "68524-8", "44250-9", "44255-8", "93038-8", "69858-9", "69861-3",
}  # fmt: skip


def _options(instrument: Instrument) -> set[tuple[str, str]]:
    return {
        (link_id, key[2]) for link_id, item in instrument.items.items() if not item.read_only for key in item.options
    }


def test_tables_cover_every_answer_option(core: Instrument, supplemental: Instrument, hvs: Instrument) -> None:
    core_expected = {(li, c) for li, c, _ in CORE_SINGLE} | {(li, c) for li in SAFETY_ITEMS for c in HITS_POINTS}
    assert _options(core) == core_expected
    supp_expected = {(li, c) for li, c, _ in SUPPLEMENTAL_SINGLE}
    supp_expected |= {(li, c) for li in ("/44250-9", "/44255-8") for c in PHQ_POINTS}
    supp_expected |= {("/89555-7", c) for c in DAYS} | {("/68516-4", c) for c in MINUTES}
    assert _options(supplemental) == supp_expected
    assert _options(hvs) == {(li, c) for li in ("/88122-7", "/88123-5") for c in HVS_ANSWERS}


@pytest.mark.parametrize(("link_id", "answer", "domains"), CORE_SINGLE)
def test_core_answer_gives_the_spec_domains(core: Instrument, link_id: str, answer: str, domains: tuple) -> None:
    findings = score(build_qr(core, {link_id: answer}), core)
    assert findings.positive_domains == domains
    item = findings.item(link_id)
    assert item.positive == bool(domains)
    assert item.positive_domains == domains
    assert all(findings.domains[d].verified for d in domains)  # core rules are all [V]


@pytest.mark.parametrize(("link_id", "answer", "domains"), SUPPLEMENTAL_SINGLE)
def test_supplemental_answer_gives_the_spec_domains(
    supplemental: Instrument, link_id: str, answer: str, domains: tuple
) -> None:
    findings = score(build_qr(supplemental, {link_id: answer}), supplemental)
    assert findings.positive_domains == domains
    assert findings.item(link_id).positive == bool(domains)
    for domain in domains:
        assert findings.domains[domain].verified == (link_id[1:] not in SUPPLEMENTAL_UNVERIFIED)


def test_positive_food_item_flags_food_insecurity_in_both_core_food_items(core: Instrument) -> None:
    findings = score(build_qr(core, {"/88122-7": "LA28398-8", "/88123-5": "LA6729-3"}), core)
    assert findings.positive_domains == ("food-insecurity",)
    assert [e.source for e in findings.domains["food-insecurity"].evidence] == ["/88123-5"]


@pytest.mark.parametrize("answers", list(itertools.product(HITS_POINTS, repeat=4)), ids=lambda a: "-".join(a))
def test_safety_total_positive_from_eleven(core: Instrument, answers: tuple[str, ...]) -> None:
    findings = score(build_qr(core, dict(zip(SAFETY_ITEMS, answers, strict=True))), core)
    total = sum(HITS_POINTS[a] for a in answers)
    result = findings.scores["safety-total"]
    assert (result.value, result.complete) == (total, True)
    assert result.positive is (total >= 11)
    assert findings.positive_domains == (("interpersonal-safety",) if total >= 11 else ())
    assert not any(item.positive for item in findings.items)  # no single HITS answer is positive


def test_safety_boundary_ten_is_negative_and_eleven_positive(core: Instrument) -> None:
    ten = {"/95618-5": "LA10082-8", "/95617-7": "LA10082-8", "/95616-9": "LA10066-1", "/95615-1": "LA10066-1"}
    eleven = dict(ten, **{"/95615-1": "LA10082-8"})
    assert score(build_qr(core, ten), core).scores["safety-total"].value == 10
    assert score(build_qr(core, ten), core).positive_domains == ()
    assert score(build_qr(core, eleven), core).scores["safety-total"].value == 11
    assert score(build_qr(core, eleven), core).positive_domains == ("interpersonal-safety",)


def test_safety_total_needs_all_four_items_and_flags_follow_up(core: Instrument) -> None:
    three = {"/95618-5": "LA6482-9", "/95617-7": "LA6482-9", "/95616-9": "LA6482-9"}
    findings = score(build_qr(core, three), core)
    assert findings.scores["safety-total"].complete is False
    assert findings.scores["safety-total"].value is None
    assert findings.incomplete_scores == ("safety-total",)
    assert findings.positive_domains == ()


@pytest.mark.parametrize("size", range(1, 8))
def test_any_combination_of_housing_problems_is_inadequate_housing(core: Instrument, size: int) -> None:
    problems = [c for li, c, d in CORE_SINGLE if li == "/96778-6" and d]
    for combo in itertools.combinations(problems, size):
        findings = score(build_qr(core, {"/96778-6": list(combo)}), core)
        assert findings.positive_domains == ("inadequate-housing",)
        assert findings.item("/96778-6").positive_answers == combo


def test_none_of_the_above_cannot_be_combined_with_a_problem(core: Instrument) -> None:
    with pytest.raises(ResponseError) as caught:
        score(build_qr(core, {"/96778-6": ["LA9-3", "LA28580-1"]}), core)
    assert caught.value.issues[0][0] == "QuestionnaireResponse.item[0].answer"


@pytest.mark.parametrize(("first", "second"), list(itertools.product(PHQ_POINTS, repeat=2)))
def test_phq2_total_positive_from_three(supplemental: Instrument, first: str, second: str) -> None:
    findings = score(build_qr(supplemental, {"/44250-9": first, "/44255-8": second}), supplemental)
    total = PHQ_POINTS[first] + PHQ_POINTS[second]
    assert findings.scores["phq2-total"].value == total
    assert findings.positive_domains == (("mental-health",) if total >= 3 else ())


@pytest.mark.parametrize(("days", "minutes"), list(itertools.product(DAYS, MINUTES)))
def test_weekly_activity_under_150_minutes_is_positive(supplemental: Instrument, days: str, minutes: str) -> None:
    answers = {"/89555-7": days} if DAYS[days] == 0 else {"/89555-7": days, "/68516-4": minutes}
    findings = score(build_qr(supplemental, answers), supplemental)
    weekly = DAYS[days] * MINUTES[minutes]
    positive = weekly < 150
    assert findings.scores["weekly-activity-minutes"].value == weekly
    assert findings.positive_domains == (("physical-activity",) if positive else ())
    assert all(findings.item(li).positive is positive for li in answers)


def test_minutes_item_is_skipped_when_no_exercise_days(supplemental: Instrument) -> None:
    with pytest.raises(ResponseError) as caught:
        score(build_qr(supplemental, {"/89555-7": "LA6111-4", "/68516-4": "LA28853-2"}), supplemental)
    assert "not enabled" in caught.value.issues[0][1]


@pytest.mark.parametrize(("worried", "ran_out"), list(itertools.product([*HVS_ANSWERS, None], repeat=2)))
def test_hunger_vital_sign_risk(hvs: Instrument, worried: str | None, ran_out: str | None) -> None:
    answers = {k: v for k, v in {"/88122-7": worried, "/88123-5": ran_out}.items() if v}
    findings = score(build_qr(hvs, answers), hvs)
    kinds = {HVS_ANSWERS[v] for v in answers.values()}
    risk = findings.scores["hvs-risk"]
    if "risk" in kinds:
        assert (risk.result, risk.positive) == ("LA19952-3", True)
        assert findings.positive_domains == ("food-insecurity",)
    elif "no-risk" in kinds:
        assert (risk.result, risk.positive) == ("LA19983-8", False)
        assert findings.positive_domains == ()
    else:  # nothing answered, or only "Don't know/refused": deliberately no determination (spec §3)
        assert (risk.result, risk.complete) == (None, False)
        assert findings.positive_domains == ()
    assert set(findings.declined) == {li for li, v in answers.items() if v == "LA15775-2"}


def test_same_loinc_question_is_scored_per_instrument(core: Instrument, hvs: Instrument) -> None:
    # 88122-7 is in both instruments; HVS also allows LA15775-2, which AHC core does not list.
    assert score(build_qr(hvs, {"/88122-7": "LA15775-2"}), hvs).declined == ("/88122-7",)
    with pytest.raises(ResponseError):
        score(build_qr(core, {"/88122-7": "LA15775-2"}), core)


def test_unverified_rules_are_flagged_in_the_rule_files(
    core: Instrument, supplemental: Instrument, hvs: Instrument
) -> None:
    assert core.rules.unverified_rules() == []
    assert hvs.rules.unverified_rules() == []
    flagged = {q.code for q in supplemental.rules.questions.values() if not q.verified}
    assert flagged == SUPPLEMENTAL_UNVERIFIED
    assert {s.key for s in supplemental.rules.scores.values() if not s.verified} == {
        "phq2-total",
        "weekly-activity-minutes",
    }


def test_declined_item_is_listed_and_not_positive(core: Instrument) -> None:
    from tests.questionnaires.questionnaire_helpers import DECLINED

    findings = score(build_qr(core, {"/93030-5": DECLINED, "/88122-7": "LA28397-0"}), core)
    assert findings.declined == ("/93030-5",)
    assert findings.item("/93030-5").data_absent_reason == "asked-declined"
    assert findings.positive_domains == ("food-insecurity",)
