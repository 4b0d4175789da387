"""Fixtures for the questionnaires package tests: shipped instruments and the IG Hunger Vital Sign response.

Reads the IG examples in ../shared read-only (PRAPARE fixtures there are used only as *unknown* input).
"""

from __future__ import annotations

from typing import Any

import pytest

import questionnaires
from questionnaires import Instrument
from tests.questionnaires.questionnaire_helpers import CORE_URL, HVS_URL, IG_EXAMPLES, SUPPLEMENTAL_URL, read_json


@pytest.fixture(scope="session")
def core() -> Instrument:
    return questionnaires.get_instrument(CORE_URL)


@pytest.fixture(scope="session")
def supplemental() -> Instrument:
    return questionnaires.get_instrument(SUPPLEMENTAL_URL)


@pytest.fixture(scope="session")
def hvs() -> Instrument:
    return questionnaires.get_instrument(HVS_URL)


@pytest.fixture
def ig_hvs_response() -> dict[str, Any]:
    return read_json(IG_EXAMPLES / "QuestionnaireResponse-SDOHCC-QuestionnaireResponseHungerVitalSignExample.json")
