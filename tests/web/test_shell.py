"""The app shell: security headers, error pages, role-aware navigation and home pages (issue 3 scope 6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Blueprint, Flask

from referral_hub.security.principal import ROLES
from tests.web.hub_testing import Seeded, login, make_app

STATIC = Path(__file__).resolve().parents[2] / "referral_hub" / "static"


def test_security_headers_on_pages_and_hsts_only_over_https(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers
    secure = client.get("/login", base_url="https://hub.example.org")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_carry_no_inline_script_or_style(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    """The CSP forbids them; this finds a template that would break under it before a browser does."""
    client = sqlite_app.test_client()
    pages = [client.get("/login").get_data(as_text=True), client.get("/password/forgot").get_data(as_text=True)]
    login(sqlite_app, client, sqlite_seeded.accounts["clinic_staff"])
    for path in ("/", "/account", "/account/totp", "/patients", f"/patients/{sqlite_seeded.patients['own']}", "/x"):
        pages.append(client.get(path).get_data(as_text=True))
    for page in pages:
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
        assert "<style" not in page
        assert re.search(r"\sstyle=", page) is None
        assert re.search(r"\son[a-z]+=", page) is None  # no inline event handlers either


@pytest.mark.parametrize(("path", "status", "title"), [("/nowhere", 404, "Page not found")])
def test_unknown_page_is_a_localized_html_404(client, path: str, status: int, title: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == status
    assert title in response.get_data(as_text=True)
    spanish = client.get(path, headers={"Accept-Language": "es"})
    assert "Página no encontrada" in spanish.get_data(as_text=True)


def test_fhir_paths_keep_their_operation_outcome_errors(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/fhir/NoSuchType/1", "/fhir/metadata/nope"):
        response = client.get(path)
        assert response.status_code in (401, 404)
        assert response.get_json()["resourceType"] == "OperationOutcome"


def test_forbidden_page_is_localized(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    client = sqlite_app.test_client()
    login(sqlite_app, client, sqlite_seeded.accounts["cbo_staff"])
    response = client.get("/patients", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert response.status_code == 403
    assert "No tiene acceso a esta página" in response.get_data(as_text=True)


def test_server_error_page_shows_no_stack_trace(hub_sqlite_url: str, tmp_path: Path) -> None:
    app = make_app(hub_sqlite_url, tmp_path, PROPAGATE_EXCEPTIONS=False)
    boom = Blueprint("boom", __name__)

    @boom.get("/boom")
    def explode() -> str:
        raise RuntimeError("secret internal detail /work/main/referral_hub")

    app.register_blueprint(boom)
    response = app.test_client().get("/boom", headers={"Accept-Language": "es"})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Algo falló de nuestro lado" in body
    assert "Traceback" not in body
    assert "secret internal detail" not in body
    assert response.headers["X-Request-ID"] in body  # the support reference
    from referral_hub.extensions import db

    with app.app_context():
        db.engine.dispose()


EXPECTED_NAV = {
    "clinic_staff": ["Home", "Patients", "Find services", "My account"],
    "cbo_staff": ["Home", "Find services", "My account"],
    "cbo_admin": ["Home", "Find services", "My account"],
    "program_manager": ["Home", "My account"],
    "admin": ["Home", "Organizations and people", "My account"],
}
EXPECTED_AREA = {
    "clinic_staff": "Clinic workspace",
    "cbo_staff": "Community organization portal",
    "cbo_admin": "Community organization portal",
    "program_manager": "Program and administration",
    "admin": "Program and administration",
}


def _nav(page: str) -> list[str]:
    block = page.split('data-testid="main-nav"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<span>([^<]+)</span>", block)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_navigation_layout_and_home(sqlite_app: Flask, sqlite_seeded: Seeded, role: str) -> None:
    client = sqlite_app.test_client()
    login(sqlite_app, client, sqlite_seeded.accounts[role])
    page = client.get("/").get_data(as_text=True)
    assert _nav(page) == EXPECTED_NAV[role]
    assert EXPECTED_AREA[role] in page
    organization = page.split('data-testid="home-organization">', 1)[1].split("</dd>", 1)[0]
    expected_org = {"clinic_staff": "Riverside Clinic", "program_manager": "County Program", "admin": "County Program"}
    assert organization.startswith(expected_org.get(role, "Food Bank A"))
    assert "Sign out" in page


def test_anonymous_pages_have_no_navigation_items(client) -> None:  # type: ignore[no-untyped-def]
    assert _nav(client.get("/login").get_data(as_text=True)) == []


def test_patient_page_shows_the_preferred_language_and_a_localized_birth_date(
    sqlite_app: Flask, sqlite_seeded: Seeded
) -> None:
    client = sqlite_app.test_client()
    login(sqlite_app, client, sqlite_seeded.accounts["clinic_staff"])
    page = client.get(f"/patients/{sqlite_seeded.patients['own']}").get_data(as_text=True)
    assert "Maria Alvarez" in page
    assert "Spanish" in page
    assert "February 3, 1980" in page
    spanish = client.get(f"/patients/{sqlite_seeded.patients['own']}?lang=es").get_data(as_text=True)
    assert "3 de febrero de 1980" in spanish
    assert "Fecha de nacimiento" in spanish


def test_patient_reads_are_audited_when_the_audit_log_is_installed(hub_app: Flask, seeded: Seeded) -> None:
    pytest.importorskip("referral_hub.audit.record", reason="audit package not installed")
    from sqlalchemy import select

    from referral_hub.audit.models import AuditEventRow
    from referral_hub.extensions import db

    client = hub_app.test_client()
    login(hub_app, client, seeded.accounts["clinic_staff"])
    client.get("/patients")
    client.get(f"/patients/{seeded.patients['own']}")
    with hub_app.app_context():
        rows = db.session.execute(
            select(AuditEventRow).where(AuditEventRow.patient_ref == f"Patient/{seeded.patients['own']}")
        ).scalars()
        events = sorted((row.subtype, row.action, row.principal_id) for row in rows)
    user = str(seeded.accounts["clinic_staff"].user_id)
    assert ("read", "R", user) in events
    assert ("search-type", "E", user) in events


def test_vendored_design_system_is_complete_licensed_and_small() -> None:
    vendor = STATIC / "vendor" / "uswds"
    assert (vendor / "LICENSE.md").is_file()
    assert (vendor / "VERSION").read_text().strip()
    css = (vendor / "css" / "uswds.min.css").read_text()
    for url in set(re.findall(r"url\((\.\./[^)\"']+)\)", css)):
        if url != "../img/hero.jpg":
            assert (vendor / "css" / url).resolve().is_file(), url
    size = sum(p.stat().st_size for p in vendor.rglob("*") if p.is_file())
    assert size < 3_000_000


def test_every_static_file_a_page_references_is_served(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert len(assets) >= 4
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
