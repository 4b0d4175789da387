"""Who may change what on a Task (§6.3; checks T-9, PT-2): check_update_rights and changed_elements."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from referral_hub.fhir.validation import changed_elements, check_update_rights


def _with(task: dict[str, Any], **changes: Any) -> dict[str, Any]:
    new = copy.deepcopy(task)
    new.update(changes)
    return new


def test_changed_elements_ignores_meta_text_and_id(referral_task: dict[str, Any]) -> None:
    new = _with(referral_task, id="other", meta={"versionId": "9"}, text={"status": "empty", "div": "<div/>"})

    assert changed_elements(referral_task, new) == set()


def test_changed_elements_names_added_removed_and_modified_elements(referral_task: dict[str, Any]) -> None:
    new = _with(referral_task, status="accepted", note=[{"text": "hi"}])
    del new["owner"]

    assert changed_elements(referral_task, new) == {"status", "note", "owner"}


def test_changed_elements_counts_a_primitive_extension_as_its_element(referral_task: dict[str, Any]) -> None:
    new = _with(referral_task, _status={"extension": [{"url": "http://e.org/x", "valueString": "y"}]})

    assert changed_elements(referral_task, new) == {"status"}


def test_changed_elements_does_not_confuse_true_with_one() -> None:
    assert changed_elements({"a": [1]}, {"a": [True]}) == {"a"}
    assert changed_elements({"a": 1}, {"a": 1.0}) == {"a"}


def test_changed_elements_tolerates_non_dicts() -> None:
    assert changed_elements(None, {"status": "x"}) == {"status"}  # type: ignore[arg-type]


# T-9 (c): the author may change anything.
def test_requester_may_change_anything(referral_task: dict[str, Any]) -> None:
    new = _with(referral_task, focus={"reference": "ServiceRequest/other"}, status="cancelled")

    assert check_update_rights(referral_task, new, "requester") == []


@pytest.mark.parametrize("status", ["accepted", "rejected", "cancelled"])
def test_owner_may_move_the_status_and_add_reason_output_and_notes(referral_task: dict[str, Any], status: str) -> None:
    new = _with(referral_task, status=status, statusReason={"text": "why"}, note=[{"text": "called patient"}])

    assert check_update_rights(referral_task, new, "owner") == []


# T-9 (a): the owner changing what belongs to the requester.
@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("focus", {"reference": "ServiceRequest/other"}),
        ("requester", {"reference": "Organization/me"}),
        ("for", {"reference": "Patient/someone-else"}),
        ("owner", {"reference": "Organization/another-cbo"}),
        ("priority", "stat"),
    ],
)
def test_owner_may_not_change_requester_elements(referral_task: dict[str, Any], element: str, value: Any) -> None:
    issues = check_update_rights(referral_task, _with(referral_task, **{element: value}), "owner")

    assert [(i.code, i.expression) for i in issues] == [("forbidden", f"Task.{element}")]


@pytest.mark.parametrize("status", ["entered-in-error", "draft", "requested"])
def test_owner_may_not_set_requester_side_statuses(referral_task: dict[str, Any], status: str) -> None:
    accepted = _with(referral_task, status="accepted")

    issues = check_update_rights(accepted, _with(accepted, status=status), "owner")

    assert [(i.code, i.expression) for i in issues] == [("forbidden", "Task.status")]


# T-9 (b): a third party.
def test_other_party_may_not_change_anything(referral_task: dict[str, Any]) -> None:
    issues = check_update_rights(referral_task, _with(referral_task, status="accepted"), "other")

    assert [(i.code, i.expression) for i in issues] == [("forbidden", "Task.status")]


def test_unchanged_task_is_fine_for_anyone(referral_task: dict[str, Any]) -> None:
    assert check_update_rights(referral_task, copy.deepcopy(referral_task), "other") == []


# PT-2: the patient app.
@pytest.mark.parametrize("status", ["in-progress", "completed", "cancelled", "on-hold", "failed"])
def test_patient_may_work_their_patient_task(questionnaire_task: dict[str, Any], status: str) -> None:
    ready = _with(questionnaire_task, status="ready")
    del ready["output"]

    assert check_update_rights(ready, _with(ready, status=status, output=questionnaire_task["output"]), "patient") == []


@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("description", "something else"),
        ("input", [{"type": {"text": "x"}, "valueString": "y"}]),
        ("note", [{"text": "n"}]),
    ],
)
def test_patient_may_not_change_other_elements(questionnaire_task: dict[str, Any], element: str, value: Any) -> None:
    issues = check_update_rights(questionnaire_task, _with(questionnaire_task, **{element: value}), "patient")

    assert [(i.code, i.expression) for i in issues] == [("forbidden", f"Task.{element}")]


def test_patient_may_not_mark_a_task_entered_in_error(questionnaire_task: dict[str, Any]) -> None:
    issues = check_update_rights(questionnaire_task, _with(questionnaire_task, status="entered-in-error"), "patient")

    assert [(i.code, i.expression) for i in issues] == [("forbidden", "Task.status")]


def test_patient_may_never_update_a_referral_task(referral_task: dict[str, Any]) -> None:
    issues = check_update_rights(referral_task, _with(referral_task, status="cancelled"), "patient")

    assert [i.code for i in issues] == ["forbidden"]
