"""Why a result matched, in words a staff member can read out to a patient.

Every active filter adds one reason to ``SearchResult.matched`` (issue 5, scope 5: "each result
says why it matched and how fresh its listing is"). Keeping the wording here, in one place, keeps
the UI, the HSDS profile extension and the FHIR projection consistent.
"""

from __future__ import annotations

from datetime import date, datetime

from resource_directory.search.schedule import OpenStatus


def need_reason(term_name: str, category: str | None) -> str:
    """ "need: Food Pantry (food-insecurity)"; without a category code just the term name."""
    return f"need: {term_name} ({category})" if category else f"need: {term_name}"


def text_reason(text: str) -> str:
    return f"text: '{text}'"


def language_reason(language_name: str) -> str:
    return f"speaks {language_name}"


def age_reason(age: float, minimum: float | None, maximum: float | None) -> str:
    shown = f"{age:g}"
    if minimum is None and maximum is None:
        return f"age {shown}: no age limits listed"
    if maximum is None:
        return f"age {shown}: serves ages {minimum:g}+"
    if minimum is None:
        return f"age {shown}: serves ages up to {maximum:g}"
    return f"age {shown}: serves ages {minimum:g}–{maximum:g}"


def open_reason(status: OpenStatus, at: datetime, *, requested: bool) -> str:
    """ "open now until 17:00", or for an explicit ``open_at``: "open at Tue 10:00 until 17:00"."""
    if not requested:
        return status.describe(at)
    local = at.astimezone(status.closes_at.tzinfo) if status.closes_at and at.tzinfo else at
    until = f" until {status.closes_at.strftime('%a %H:%M')}" if status.closes_at else " (24 hours)"
    return f"open at {local.strftime('%a %d %b %H:%M')}{until}"


def free_reason() -> str:
    return "free"


def accepting_reason() -> str:
    return "accepting referrals"


def covering_reason(area_name: str | None) -> str:
    return f"serves your area ({area_name})" if area_name else "no service-area limits listed"


def distance_reason(distance_km: float) -> str:
    return f"within {distance_km:.1f} km"


def freshness_days(assured_date: date | None, today: date) -> int | None:
    """Days since the listing was last verified (``assured_date``); ``None`` if never verified."""
    return (today - assured_date).days if assured_date is not None else None


def parse_date(value: date | str | None) -> date | None:
    """An ``assured_date`` as the details query returns it (ISO text in JSON) or as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])
