"""Fixtures for the validation tests: the IG 2.3.0 examples (read-only, from ../shared) and small factories."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "shared" / "fhir" / "sdoh-cc-examples"


def _load(stem: str) -> dict[str, Any]:
    path = EXAMPLES_DIR / f"{stem}.json"
    if not path.exists():
        pytest.skip(f"IG example {path} is not available")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def example() -> Callable[[str], dict[str, Any]]:
    """A fresh deep copy of an IG example by file stem (e.g. ``Patient-pat-53234``), safe to mutate."""
    cache: dict[str, dict[str, Any]] = {}

    def get(stem: str) -> dict[str, Any]:
        if stem not in cache:
            cache[stem] = _load(stem)
        return copy.deepcopy(cache[stem])

    return get


@pytest.fixture
def referral_task(example: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """A valid new referral Task (the IG 'accepted' example moved back to 'requested', without narrative)."""
    task = example("Task-SDOHCC-TaskReferralManagementOrderFulfillmentAcceptedExample")
    task.pop("text")
    task["status"] = "requested"
    return task


@pytest.fixture
def completed_referral_task(example: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    task = example("Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample")
    task.pop("text")
    return task


@pytest.fixture
def questionnaire_task(example: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """A valid patient Task (complete-questionnaire), completed with its QuestionnaireResponse output."""
    task = example("Task-SDOHCC-TaskPatientRiskQuestionnaireCompletedExample")
    task.pop("text")
    return task
