"""Translations: catalogs compile, placeholders match, nothing is left untranslated, locale selection order."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from referral_hub.i18n import LANGUAGES, TRANSLATIONS_DIR, compile_catalogs
from tests.web.hub_testing import Seeded, csrf_token, login

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{\w*\}")


def _catalog(code: str):  # type: ignore[no-untyped-def]
    with (TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code, abort_invalid=True)


def _strings(value: str | tuple[str, ...] | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_catalog_compiles(code: str, tmp_path: Path) -> None:
    shutil.copytree(TRANSLATIONS_DIR / code, tmp_path / code)
    (tmp_path / code / "LC_MESSAGES" / "messages.mo").unlink(missing_ok=True)
    written = compile_catalogs(tmp_path)
    assert [p.name for p in written] == ["messages.mo"]
    assert written[0].stat().st_size > 100


@pytest.mark.parametrize("code", LANGUAGES)
def test_placeholders_are_identical_in_msgid_and_msgstr(code: str) -> None:
    mismatches = []
    for message in _catalog(code):
        if not message.id:
            continue
        # Plural forms each carry the same placeholders as the singular msgid.
        expected = sorted(PLACEHOLDER.findall(_strings(message.id)[0]))
        for translated in _strings(message.string):
            if translated and sorted(PLACEHOLDER.findall(translated)) != expected:
                mismatches.append((message.id, translated))
    assert mismatches == []


def test_spanish_has_no_empty_or_fuzzy_translation() -> None:
    untranslated = [
        message.id for message in _catalog("es") if message.id and (message.fuzzy or not all(_strings(message.string)))
    ]
    assert untranslated == []


def test_catalogs_hold_every_string_the_code_marks(tmp_path: Path) -> None:
    """Extraction run now finds no msgid missing from the committed Spanish catalog (``make translations`` ran)."""
    from babel.messages.frontend import CommandLineInterface

    pot = tmp_path / "messages.pot"
    root = TRANSLATIONS_DIR.parent.parent
    cwd = os.getcwd()
    os.chdir(root)
    try:
        CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."])
    finally:
        os.chdir(cwd)
    with pot.open("rb") as handle:
        extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog("es") if m.id}
    assert sorted(extracted - known) == []


def test_app_start_compiles_a_missing_or_stale_catalog(hub_sqlite_url: str, tmp_path: Path) -> None:
    mo = TRANSLATIONS_DIR / "es" / "LC_MESSAGES" / "messages.mo"
    po = mo.with_suffix(".po")
    mo.unlink(missing_ok=True)
    from tests.web.hub_testing import make_app

    app = make_app(hub_sqlite_url, tmp_path)
    assert mo.is_file()
    assert "Iniciar sesión" in app.test_client().get("/login?lang=es").get_data(as_text=True)
    os.utime(mo, (po.stat().st_mtime - 60, po.stat().st_mtime - 60))
    assert compile_catalogs() == [mo]  # older than its .po: recompiled
    assert compile_catalogs() == []  # fresh: left alone
    from referral_hub.extensions import db

    with app.app_context():
        db.engine.dispose()


def test_accept_language_then_query_then_cookie(client) -> None:  # type: ignore[no-untyped-def]
    assert "Iniciar sesión" in client.get("/login", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(
        as_text=True
    )
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "fr, en;q=0.5"}).get_data(as_text=True)
    assert 'lang="es"' in client.get("/login?lang=es").get_data(as_text=True)
    # ?lang= is remembered in the switcher cookie for later pages.
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)


def test_switcher_changes_language_and_a_signed_in_users_setting_wins(sqlite_app: Flask, sqlite_seeded: Seeded) -> None:
    client = sqlite_app.test_client()
    login(sqlite_app, client, sqlite_seeded.accounts["clinic_staff"])
    assert "Patients" in client.get("/").get_data(as_text=True)
    response = client.post("/language", data={"lang": "es", "next": "/patients", "csrf_token": csrf_token(client, "/")})
    assert response.headers["Location"] == "/patients"
    page = client.get("/patients").get_data(as_text=True)
    assert "Pacientes" in page
    assert "1 paciente encontrado" in page
    # The choice is the user's setting now: it wins over the browser's language and follows them to a new device.
    other_device = sqlite_app.test_client()
    login(sqlite_app, other_device, sqlite_seeded.accounts["clinic_staff"])
    assert "Pacientes" in other_device.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_switcher_refuses_unknown_languages_and_foreign_redirects(client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client)
    assert client.post("/language", data={"lang": "xx", "csrf_token": token}).status_code == 400
    response = client.post("/language", data={"lang": "es", "next": "//evil.example", "csrf_token": token})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "path", ["/login", "/password/forgot", "/", "/account", "/account/password", "/account/totp", "/patients"]
)
def test_pages_render_in_spanish(sqlite_app: Flask, sqlite_seeded: Seeded, path: str) -> None:
    client = sqlite_app.test_client()
    if path not in ("/login", "/password/forgot"):
        login(sqlite_app, client, sqlite_seeded.accounts["clinic_staff"])
    page = client.get(path, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es"' in page
    assert "Saltar al contenido principal" in page
    for english in ("Skip to main content", "Sign out", "Sign in", "My account", "Patients", "Password"):
        assert f">{english}<" not in page
