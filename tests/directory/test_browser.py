"""Browser test of the staff search page in Debian Chromium (Playwright), on a phone-sized screen: pick a need chip,
type a ZIP code, search, see results nearest first; no CSP violation; axe-core finds no serious WCAG 2 A/AA issue.

Skips when Chromium or Playwright is missing, unless ``REFERRAL_HUB_REQUIRE_SERVICES=1`` (then it fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.directory.directory_testing import result_miles
from tests.web.browser_support import launch_chromium, serious_axe_violations, served
from tests.web.hub_testing import seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def live(demo_sqlite_app: Flask) -> Iterator[str]:
    with served(demo_sqlite_app) as url:
        yield url


def test_clinic_staff_find_food_near_a_zip_on_a_phone(chromium: Any, live: str, demo_sqlite_app: Flask) -> None:
    account = seed(demo_sqlite_app).accounts["clinic_staff"]
    context = chromium.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live + "/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live + "/")
    page.goto(live + "/directory/")
    assert page.get_by_role("heading", level=1).inner_text() == "Find services"
    assert serious_axe_violations(page) == []

    page.get_by_text("Food", exact=True).click()  # a chip's label selects its radio
    assert page.locator("#need-food-insecurity").is_checked()
    page.get_by_text("Any need", exact=True).click()
    page.get_by_label("Words to look for (optional)").fill("food")
    page.get_by_label("ZIP code or address").fill("94063")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert "q=food" in page.url
    assert "usa-error-message" not in page.content(), page.content()[-3000:]
    cards = page.locator('[data-testid="results"] > li')
    assert page.get_by_role("heading", level=2).inner_text().endswith("found")
    miles = result_miles(page.content())
    assert miles == sorted(miles)
    assert cards.count() >= 1
    assert cards.first.get_by_text("Why it matched").is_visible()
    first = cards.first.get_by_role("link").first
    name = first.inner_text()
    first.click()
    assert page.get_by_role("heading", level=1).inner_text() == name
    assert serious_axe_violations(page) == []
    assert csp_errors == []
    context.close()
