"""Words the directory pages show: need chips, languages, referral statuses, and "why it matched" in the UI language.

The search service explains each result in English phrases built in one place
(``resource_directory.search.explain``); :func:`translate_reason` recognises those phrases and renders them in the
page's language, passing anything unknown through unchanged (a new reason is shown in English, never lost).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import LazyString, format_decimal

from referral_hub.i18n import _, _l

#: Gravity SDOH categories (gravity-sdoh-cc.md §7.1) in plain words, in the order staff meet them most.
#: ``sdoh-category-unspecified`` maps to no taxonomy term, so it is not offered.
NEEDS: dict[str, LazyString] = {
    "food-insecurity": _l("Food"),
    "housing-instability": _l("Rent or housing costs"),
    "homelessness": _l("Homelessness"),
    "inadequate-housing": _l("Unsafe housing"),
    "transportation-insecurity": _l("Transportation"),
    "utility-insecurity": _l("Utilities"),
    "financial-insecurity": _l("Money"),
    "material-hardship": _l("Basic necessities"),
    "employment-status": _l("Work"),
    "educational-attainment": _l("Education"),
    "health-insurance-coverage-status": _l("Health insurance"),
    "medical-cost-burden": _l("Medical bills"),
    "intimate-partner-violence": _l("Safety at home"),
    "elder-abuse": _l("Elder abuse"),
    "stress": _l("Stress"),
    "social-connection": _l("Loneliness"),
    "veteran-status": _l("Veterans"),
    "incarceration-status": _l("Re-entry after jail or prison"),
    "language-access": _l("Language help"),
    "personal-health-literacy": _l("Understanding health information"),
    "digital-literacy": _l("Computer skills"),
    "digital-access": _l("Internet or phone access"),
}

#: Languages offered in the filter (ISO 639-1 where one exists; the most common in US safety-net settings).
LANGUAGE_CHOICES: dict[str, LazyString] = {
    "en": _l("English"),
    "es": _l("Spanish"),
    "zh": _l("Chinese"),
    "yue": _l("Cantonese"),
    "cmn": _l("Mandarin"),
    "ru": _l("Russian"),
    "ht": _l("Haitian Creole"),
    "bn": _l("Bengali"),
    "ko": _l("Korean"),
    "ar": _l("Arabic"),
    "fr": _l("French"),
    "pl": _l("Polish"),
    "yi": _l("Yiddish"),
    "ur": _l("Urdu"),
    "vi": _l("Vietnamese"),
    "tl": _l("Tagalog"),
    "asl": _l("American Sign Language"),
}

#: The hub's referral status in words people use (product.md "Plain language"), with the USWDS tag style.
REFERRAL_STATUS: dict[str, tuple[LazyString, str]] = {
    "accepting": (_l("Accepting referrals"), "hub-badge--accepting"),
    "waitlist": (_l("Waitlist"), "hub-badge--waitlist"),
    "paused": (_l("Not taking referrals now"), "hub-badge--paused"),
}

#: Distance choices in miles (US staff think in miles); the search service works in kilometres.
RADIUS_MILES = (1, 2, 5, 10, 25)
KM_PER_MILE = 1.609344


def miles(km: float) -> str:
    value = km / KM_PER_MILE
    return format_decimal(round(value, 1 if value < 10 else 0), format="#,##0.#")


def language_name(english: str) -> str:
    """An English language name ("Spanish", as pycountry gives it) in the page's language ("español")."""
    from babel import Locale
    from flask_babel import get_locale

    locale = get_locale()
    if locale is None or locale.language == "en":
        return english
    names = Locale("en").languages
    code = next((c for c, name in names.items() if name.lower() == english.lower()), None)
    return str(locale.languages.get(code, english)) if code else english


def code_language_name(code: str) -> str:
    """An ISO 639 code in the page's language (falls back to the code)."""
    from flask_babel import get_locale

    if code in LANGUAGE_CHOICES:
        return str(LANGUAGE_CHOICES[code])
    locale = get_locale()
    return str(locale.languages.get(code, code)) if locale is not None else code


def _need(match: re.Match[str]) -> str:
    term, category = match.group("term"), match.group("category")
    label = NEEDS.get(category or "")
    if label is not None:
        return _("Listed for %(need)s (%(term)s)", need=label, term=term)
    return _("Listed for %(term)s", term=term)


def _age(match: re.Match[str]) -> str:
    rest = match.group("rest")
    if rest == "no age limits listed":
        return _("No age limits listed")
    if found := re.fullmatch(r"serves ages (\S+)\+", rest):
        return _("Serves ages %(min)s and up", min=found.group(1))
    if found := re.fullmatch(r"serves ages up to (\S+)", rest):
        return _("Serves ages up to %(max)s", max=found.group(1))
    if found := re.fullmatch(r"serves ages (\S+)–(\S+)", rest):
        return _("Serves ages %(min)s to %(max)s", min=found.group(1), max=found.group(2))
    return rest


_REASONS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^need: (?P<term>.*?)(?: \((?P<category>[a-z-]+)\))?$"), _need),
    (re.compile(r"^text: '(?P<text>.*)'$"), lambda m: _("Mentions “%(text)s”", text=m.group("text"))),
    (re.compile(r"^speaks (?P<language>.+)$"), lambda m: _("Speaks %(language)s", language=language_name(m.group(1)))),
    (re.compile(r"^age (?P<age>\S+): (?P<rest>.+)$"), _age),
    (re.compile(r"^open now until (?P<time>.+)$"), lambda m: _("Open now, until %(time)s", time=m.group("time"))),
    (re.compile(r"^open now"), lambda m: _("Open now")),
    (re.compile(r"^free$"), lambda m: _("Free")),
    (re.compile(r"^accepting referrals$"), lambda m: _("Accepting referrals")),
    (re.compile(r"^serves your area \((?P<area>.*)\)$"), lambda m: _("Serves the area %(area)s", area=m.group("area"))),
    (re.compile(r"^no service-area limits listed$"), lambda m: _("No service-area limits listed")),
    (
        re.compile(r"^within (?P<km>[0-9.]+) km$"),
        lambda m: _("%(miles)s miles away", miles=miles(float(m.group("km")))),
    ),
]


def translate_reason(reason: str) -> str:
    """One "why it matched" phrase of the search service in the page's language (unknown ones unchanged)."""
    for pattern, render in _REASONS:
        if match := pattern.match(reason):
            return render(match)
    return reason
