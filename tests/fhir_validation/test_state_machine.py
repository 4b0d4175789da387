"""Stage 3: Task status transitions of §5.1 / §5.2 — HTTP 409 (brief rule 5, check T-8)."""

from __future__ import annotations

import copy
from itertools import product
from typing import Any

import pytest

from referral_hub.fhir.validation import validate_resource
from referral_hub.fhir.validation.codes import PATIENT_TASK_STATUS, REFERRAL_TASK_STATUS
from tests.fhir_validation.validation_helpers import SDOHCC_CS, assert_rejected, coding

# The IG diagrams, written out independently of state_machine.py so a typo there fails here.
REFERRAL_EDGES = {
    ("draft", "requested"),
    ("requested", "accepted"),
    ("requested", "rejected"),
    ("requested", "cancelled"),
    *{("accepted", s) for s in ("in-progress", "on-hold", "cancelled", "completed", "failed")},
    *{("in-progress", s) for s in ("on-hold", "cancelled", "completed", "failed")},
    *{("on-hold", s) for s in ("in-progress", "cancelled", "completed", "failed")},
}
PATIENT_EDGES = {
    *{("ready", s) for s in ("in-progress", "on-hold", "cancelled", "completed", "failed")},
    *{("in-progress", s) for s in ("on-hold", "cancelled", "completed", "failed")},
    *{("on-hold", s) for s in ("in-progress", "cancelled", "completed", "failed")},
}


def _referral_in(task: dict[str, Any], status: str) -> dict[str, Any]:
    """The referral Task in ``status``, carrying what that status needs (reason text, an output)."""
    t = copy.deepcopy(task)
    t["status"] = status
    t["statusReason"] = {"text": "reason given"}
    t["output"] = [{"type": coding(SDOHCC_CS, "resulting-activity"), "valueReference": {"reference": "Procedure/p1"}}]
    return t


def _patient_in(task: dict[str, Any], status: str) -> dict[str, Any]:
    t = copy.deepcopy(task)
    t["status"] = status
    return t


def _allowed(edges: set[tuple[str, str]], old: str, new: str) -> bool:
    return old == new or new == "entered-in-error" and old != "entered-in-error" or (old, new) in edges


@pytest.mark.parametrize(("old", "new"), sorted(product(REFERRAL_TASK_STATUS, repeat=2)))
def test_referral_task_transition_matrix_matches_the_ig_diagram(
    referral_task: dict[str, Any], old: str, new: str
) -> None:
    previous, updated = _referral_in(referral_task, old), _referral_in(referral_task, new)

    if _allowed(REFERRAL_EDGES, old, new):
        assert validate_resource(updated, previous) == []
    else:
        assert_rejected(updated, 409, "Task.status", "business-rule", previous)


@pytest.mark.parametrize(("old", "new"), sorted(product(PATIENT_TASK_STATUS, repeat=2)))
def test_patient_task_transition_matrix_matches_the_ig_diagram(
    questionnaire_task: dict[str, Any], old: str, new: str
) -> None:
    previous, updated = _patient_in(questionnaire_task, old), _patient_in(questionnaire_task, new)
    updated["statusReason"] = previous["statusReason"] = {"text": "reason given"}

    if _allowed(PATIENT_EDGES, old, new):
        assert validate_resource(updated, previous) == []
    else:
        assert_rejected(updated, 409, "Task.status", "business-rule", previous)


# T-8, listed explicitly.
T8_ILLEGAL = [
    ("requested", "completed"),
    ("requested", "in-progress"),
    ("completed", "in-progress"),
    ("rejected", "accepted"),
    *[("cancelled", s) for s in sorted(REFERRAL_TASK_STATUS - {"cancelled", "entered-in-error"})],
]


@pytest.mark.parametrize(("old", "new"), T8_ILLEGAL)
def test_t8_illegal_referral_transition_is_a_conflict(referral_task: dict[str, Any], old: str, new: str) -> None:
    exc = assert_rejected(
        _referral_in(referral_task, new), 409, "Task.status", "business-rule", _referral_in(referral_task, old)
    )
    assert f"'{old}'" in exc.errors[0].diagnostics
    assert f"'{new}'" in exc.errors[0].diagnostics


def test_cancelled_referral_task_may_still_be_marked_entered_in_error(referral_task: dict[str, Any]) -> None:
    previous = _referral_in(referral_task, "cancelled")

    assert validate_resource(_referral_in(referral_task, "entered-in-error"), previous) == []


@pytest.mark.parametrize("old", sorted(REFERRAL_TASK_STATUS))
@pytest.mark.parametrize("new", ["received", "ready"])
def test_t8_any_referral_task_to_received_or_ready_is_refused(
    referral_task: dict[str, Any], old: str, new: str
) -> None:
    # Not in the referral status value set at all, so it is a content error (422) before it is a transition.
    assert_rejected(
        _referral_in(referral_task, new), 422, "Task.status", "code-invalid", _referral_in(referral_task, old)
    )


# --- create-time initial status ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "requested"])
def test_new_referral_task_may_start_as_draft_or_requested(referral_task: dict[str, Any], status: str) -> None:
    referral_task["status"] = status

    assert validate_resource(referral_task) == []


@pytest.mark.parametrize("status", sorted(REFERRAL_TASK_STATUS - {"draft", "requested"}))
def test_new_referral_task_in_a_later_status_is_a_conflict(referral_task: dict[str, Any], status: str) -> None:
    assert_rejected(_referral_in(referral_task, status), 409, "Task.status", "business-rule")


@pytest.mark.parametrize("status", sorted(PATIENT_TASK_STATUS - {"ready"}))
def test_new_patient_task_must_start_ready(questionnaire_task: dict[str, Any], status: str) -> None:
    task = _patient_in(questionnaire_task, status)
    task["statusReason"] = {"text": "reason"}

    assert_rejected(task, 409, "Task.status", "business-rule")


def test_bulk_load_skips_the_transition_rules(referral_task: dict[str, Any]) -> None:
    completed = _referral_in(referral_task, "completed")

    assert validate_resource(completed, workflow=False) == []
    assert validate_resource(_referral_in(referral_task, "accepted"), completed, workflow=False) == []


def test_bulk_load_keeps_the_profile_rules(referral_task: dict[str, Any]) -> None:
    del referral_task["focus"]

    assert_rejected(referral_task, 422, "Task.focus", "required", workflow=False)


def test_other_tasks_have_no_state_machine() -> None:
    old = {"resourceType": "Task", "status": "completed", "intent": "plan"}
    new = {"resourceType": "Task", "status": "draft", "intent": "plan"}

    assert validate_resource(new, old) == []
    assert validate_resource(old) == []


def test_update_keeping_a_terminal_status_is_allowed(completed_referral_task: dict[str, Any]) -> None:
    updated = copy.deepcopy(completed_referral_task)
    updated["note"] = [{"text": "Patient thanked us"}]

    assert validate_resource(updated, completed_referral_task) == []


def test_profile_errors_win_over_transition_errors(referral_task: dict[str, Any]) -> None:
    previous = _referral_in(referral_task, "requested")
    updated = _referral_in(referral_task, "completed")
    del updated["focus"]

    exc = assert_rejected(updated, 422, "Task.focus", "required", previous)
    assert {i.expression for i in exc.errors} == {"Task.focus", "Task.status"}


def test_referral_task_cannot_turn_into_a_patient_task(
    referral_task: dict[str, Any], questionnaire_task: dict[str, Any]
) -> None:
    questionnaire_task["status"] = "ready"
    del questionnaire_task["output"]

    assert_rejected(questionnaire_task, 422, "Task.code", "business-rule", referral_task)


def test_stored_status_unknown_to_the_machine_may_only_go_to_entered_in_error(referral_task: dict[str, Any]) -> None:
    legacy = dict(referral_task, status="received")

    assert_rejected(_referral_in(referral_task, "accepted"), 409, "Task.status", "business-rule", legacy)
    assert validate_resource(_referral_in(referral_task, "entered-in-error"), legacy) == []


@pytest.mark.parametrize("previous", ["garbage", {"resourceType": "Patient"}, ["Task"]])
def test_previous_that_is_not_a_stored_task_is_ignored(referral_task: dict[str, Any], previous: Any) -> None:
    assert validate_resource(_referral_in(referral_task, "accepted"), previous) == []


def test_plain_task_becoming_a_referral_task_must_be_in_an_initial_status(referral_task: dict[str, Any]) -> None:
    plain = {"resourceType": "Task", "status": "in-progress", "intent": "order"}

    assert_rejected(_referral_in(referral_task, "accepted"), 409, "Task.status", "business-rule", plain)
    assert validate_resource(referral_task, plain) == []


def test_referral_task_cannot_drop_its_profile_to_escape_the_state_machine(referral_task: dict[str, Any]) -> None:
    plain = {"resourceType": "Task", "status": "completed", "intent": "order"}

    assert_rejected(plain, 422, "Task.code", "business-rule", referral_task)
