"""Browser test in Debian Chromium (Playwright): clinic staff register one patient and find another, screen the
first in English (AHC HRSN core: food and housing positive) and the second, who prefers Spanish, with the Hunger
Vital Sign rendered in Spanish; both findings pages show the right needs; staff confirm a concern and record a goal.
No page breaks the CSP and axe-core finds no serious WCAG 2 A/AA issue on the screening pages.

Skips when Chromium or Playwright is missing, unless ``REFERRAL_HUB_REQUIRE_SERVICES=1`` (then it fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.web.browser_support import launch_chromium, serious_axe_violations, served
from tests.web.hub_testing import Seeded, seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def live(sqlite_app: Flask) -> Iterator[str]:
    with served(sqlite_app) as url:
        yield url


def _answer(page: Any, link_id: str, label: str) -> None:
    """Click an answer's label inside one question (the same answer text appears in several questions)."""
    page.locator(f'[data-link-id="{link_id}"] label', has_text=label).first.click()


def _domains(page: Any) -> set[str]:
    return set(
        page.locator('[data-testid="positive-domains"] > li').evaluate_all("els => els.map(e => e.dataset.domain)")
    )


def test_clinic_staff_screen_an_english_and_a_spanish_speaking_patient(
    chromium: Any, live: str, sqlite_app: Flask
) -> None:
    seeded: Seeded = seed(sqlite_app)
    account = seeded.accounts["clinic_staff"]
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(live + "/")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live + "/")

    # 1. Register a new, English-speaking patient.
    page.goto(live + "/screening/patients/new")
    page.get_by_label("First name").fill("Jordan")
    page.get_by_label("Last name").fill("Baker")
    page.get_by_label("Date of birth").fill("1975-09-14")
    page.get_by_label("Preferred language").select_option("en")
    page.get_by_label("Phone").fill("555-010-7788")
    page.get_by_label("ZIP code").fill("10451")
    assert serious_axe_violations(page) == []
    page.get_by_role("button", name="Register patient").click()
    page.wait_for_url("**/screening/patients/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Jordan Baker"

    # 2. Screen them with the AHC HRSN core questions: housing at risk, food sometimes runs out.
    page.get_by_label("Questionnaire").select_option("ahc-hrsn-core")
    page.get_by_role("button", name="Start screening").click()
    page.wait_for_url("**/questionnaire?instrument=ahc-hrsn-core")
    assert page.get_by_text("What is your living situation today?").is_visible()
    _answer(page, "/71802-3", "I have a place to live today, but I am worried about losing it in the future")
    _answer(page, "/96778-6", "None of the above")
    _answer(page, "/88122-7", "Sometimes true")
    _answer(page, "/88123-5", "Never true")
    _answer(page, "/93030-5", "No")
    _answer(page, "/96779-4", "No")
    for link_id in ("/95618-5", "/95617-7", "/95616-9", "/95615-1"):
        _answer(page, link_id, "Never")
    assert serious_axe_violations(page) == []
    # Save and resume keeps the answers.
    page.get_by_role("button", name="Save and finish later").click()
    page.wait_for_url("**/questionnaire?response=*")
    assert page.locator('[data-link-id="/88122-7"] input:checked').get_attribute("value") == "http://loinc.org|LA6729-3"
    page.get_by_role("button", name="Submit screening").click()
    page.wait_for_url("**/findings?response=*")
    assert _domains(page) == {"food-insecurity", "housing-instability"}
    assert page.get_by_text("Food: not always enough to eat").first.is_visible()
    assert serious_axe_violations(page) == []

    # 3. Confirm the food concern with the patient and record a goal for it.
    food = page.locator('[data-testid="concern"]', has_text="Food: not always enough to eat")
    food.locator("label", has_text="Confirm: the patient agrees this is a need").click()
    food.get_by_role("button", name="Save decision").click()
    page.wait_for_load_state()
    food = page.locator('[data-testid="concern"]', has_text="Food: not always enough to eat")
    assert food.get_by_test_id("concern-status").inner_text() == "Confirmed with the patient"
    food.get_by_label("Goal").select_option("food-security")
    food.get_by_role("button", name="Record goal").click()
    page.wait_for_load_state()
    food = page.locator('[data-testid="concern"]', has_text="Food: not always enough to eat")
    assert food.get_by_test_id("goals").inner_text().strip() == "Has enough food (food security)"

    # 4. Find the Spanish-speaking patient in the clinic's list and screen her with the Hunger Vital Sign.
    page.goto(live + "/patients?q=Alvarez")
    href = page.get_by_role("link", name="Maria Alvarez").get_attribute("href")
    assert href is not None
    page.goto(live + "/screening" + href)
    assert page.get_by_test_id("patient-language").inner_text() == "Spanish"
    page.get_by_label("Questionnaire").select_option("hunger-vital-sign")
    page.get_by_role("button", name="Start screening").click()
    page.wait_for_url("**/questionnaire?instrument=hunger-vital-sign")
    spanish_item = "En los últimos 12 meses, nos preocupaba que la comida se nos acabara"
    assert page.get_by_text(spanish_item).is_visible()
    assert page.locator(".hub-q-items").get_attribute("lang") == "es"
    _answer(page, "/88122-7", "Con frecuencia es cierto")
    _answer(page, "/88123-5", "Nunca es cierto")
    assert serious_axe_violations(page) == []
    page.get_by_role("button", name="Submit screening").click()
    page.wait_for_url("**/findings?response=*")
    assert _domains(page) == {"food-insecurity"}

    assert csp_errors == []
    context.close()
