"""Locale and time-zone selection, catalog compilation at start-up, and the ``_``/``_l`` re-exports.

Locale order (issue 3 scope 7): the signed-in user's own setting → ``?lang=`` or the switcher cookie →
``Accept-Language`` → English. Everything is stored in UTC; only output is converted to the user's time zone
(engineering-style G13). Templates use ``format_datetime``/``format_date``/``format_decimal`` from Flask-Babel.
"""

from __future__ import annotations

import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, format_date, format_datetime, format_decimal, gettext, lazy_gettext, ngettext

_ = gettext
_l = lazy_gettext

log = logging.getLogger(__name__)

#: Languages the UI is translated into, with their own names (a switcher shows each in its own language).
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
DEFAULT_LOCALE = "en"
LANG_COOKIE = "hub_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

babel = Babel()


def supported(code: str | None) -> str | None:
    """The supported language for ``code`` (``es-MX`` → ``es``), or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def _user_setting(attribute: str) -> str | None:
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False):
        return getattr(current_user, attribute, None)
    return None


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LOCALE
    for candidate in (
        _user_setting("locale"),
        request.args.get("lang"),
        request.cookies.get(LANG_COOKIE),
    ):
        if chosen := supported(candidate):
            return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LOCALE


def select_timezone() -> str:
    if has_request_context() and (zone := _user_setting("timezone")):
        return zone
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC")


def _remember_query_language(response: Response) -> Response:
    """``?lang=es`` on any page (e.g. a link in a message) sticks: it is saved in the switcher cookie."""
    chosen = supported(request.args.get("lang"))
    if chosen and request.cookies.get(LANG_COOKIE) != chosen:
        set_language_cookie(response, chosen)
    return response


def set_language_cookie(response: Response, code: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=LANG_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )


def compile_catalogs(directory: Path = TRANSLATIONS_DIR, *, force: bool = False) -> list[Path]:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older; return the ``.mo`` files written.

    Only ``.po`` files are committed, so a fresh clone (or a changed catalog) works without a build step.

    :raises ValueError: when a catalog has syntax errors (Babel's ``abort_invalid``).
    """
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name, abort_invalid=True)
        tmp_path = mo_path.with_suffix(".mo.tmp")
        with tmp_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        tmp_path.replace(mo_path)  # atomic: a concurrent worker never reads half a file
        written.append(mo_path)
    return written


def current_locale_code() -> str:
    return g.get("_hub_locale") or select_locale()


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the hub's selectors and make sure compiled catalogs exist."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    try:
        compile_catalogs()
    except OSError as exc:  # read-only install: the build must have compiled them
        log.warning("could not compile translation catalogs: %s", exc.__class__.__name__)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.after_request(_remember_query_language)
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        format_datetime=format_datetime,
        format_date=format_date,
        format_decimal=format_decimal,
        current_locale_code=current_locale_code,
    )


__all__ = [
    "LANGUAGES",
    "LANG_COOKIE",
    "_",
    "_l",
    "babel",
    "compile_catalogs",
    "current_locale_code",
    "format_date",
    "format_datetime",
    "format_decimal",
    "gettext",
    "init_app",
    "lazy_gettext",
    "ngettext",
    "select_locale",
    "select_timezone",
    "set_language_cookie",
    "supported",
]
