"""Browser test in Debian Chromium (Playwright): each role signs in (the admin with TOTP), sees its own menu,
switches to Spanish and sees the translated menu; no page breaks the CSP; axe-core finds no serious issue.

Skips when Chromium or Playwright is missing, unless ``REFERRAL_HUB_REQUIRE_SERVICES=1`` (then it fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from referral_hub.security.principal import ROLES
from tests.web.browser_support import launch_chromium, serious_axe_violations, served
from tests.web.hub_testing import Seeded, next_totp_code, seed

NAV_EN = {
    "clinic_staff": ["Home", "Patients", "Find services", "My account"],
    "cbo_staff": ["Home", "Find services", "My account"],
    "cbo_admin": ["Home", "Find services", "My account"],
    "program_manager": ["Home", "My account"],
    "admin": ["Home", "Organizations and people", "My account"],
}
NAV_ES = {
    "clinic_staff": ["Inicio", "Pacientes", "Buscar servicios", "Mi cuenta"],
    "cbo_staff": ["Inicio", "Buscar servicios", "Mi cuenta"],
    "cbo_admin": ["Inicio", "Buscar servicios", "Mi cuenta"],
    "program_manager": ["Inicio", "Mi cuenta"],
    "admin": ["Inicio", "Organizaciones y personas", "Mi cuenta"],
}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def live(sqlite_app: Flask) -> Iterator[str]:
    with served(sqlite_app) as url:
        yield url


def _nav(page: Any) -> list[str]:
    return [text.strip() for text in page.locator('[data-testid="main-nav"] a').all_inner_texts()]


@pytest.mark.parametrize("role", ROLES)
def test_role_signs_in_sees_its_menu_and_switches_to_spanish(
    chromium: Any, live: str, sqlite_app: Flask, role: str
) -> None:
    seeded: Seeded = seed(sqlite_app)
    account = seeded.accounts[role]
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live + "/")
    assert page.url.startswith(live + "/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    if account.totp_secret:
        page.wait_for_url("**/login/verify")
        page.get_by_label("6-digit code").fill(next_totp_code(sqlite_app, account.user_id, account.totp_secret))
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url(live + "/")
    assert _nav(page) == NAV_EN[role]
    assert page.get_by_role("heading", level=1).inner_text().startswith("Hello")
    assert serious_axe_violations(page) == []

    page.get_by_role("button", name="Español").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert _nav(page) == NAV_ES[role]
    assert page.get_by_role("heading", level=1).inner_text().startswith("Hola")
    page.get_by_role("link", name="Mi cuenta").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Mi cuenta"
    assert page.get_by_role("button", name="Cerrar sesión").is_visible()
    assert serious_axe_violations(page) == []
    assert csp_errors == []
    context.close()
