"""What a staff member, the HSDS API or the FHIR API can ask the directory (issue 5, scope 5).

:class:`SearchQuery` validates itself on construction: every bad value raises
:class:`SearchError` naming the field, so the UI can put the message next to the right input and
the APIs can answer 400 instead of 500.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

MAX_PER_PAGE = 100
MAX_RADIUS_KM = 20_000.0  # half the Earth's circumference: anything larger is a typo


class SearchError(ValueError):
    """A search input is invalid; ``field`` names the query field, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class LanguageCode:
    """An ISO 639 language with the codes and name used to match HSDS ``language`` rows."""

    code: str  # as the user gave it, lower case
    name: str  # English name, e.g. "Spanish"
    codes: frozenset[str]  # every ISO 639-1/-2/-3 spelling, lower case


@lru_cache(maxsize=512)
def resolve_language(code: str) -> LanguageCode | None:
    """ISO 639-1 ("es"), 639-2/B ("chi") or 639-3 ("spa") code → language, or ``None`` if unknown."""
    import pycountry  # lazy: it loads its JSON databases on first use

    text = code.strip().lower()
    if not re.fullmatch(r"[a-z]{2,3}", text):
        return None
    language = (
        pycountry.languages.get(alpha_2=text)
        or pycountry.languages.get(alpha_3=text)
        or pycountry.languages.get(bibliographic=text)
    )
    if language is None:
        return None
    codes = {text}
    for attribute in ("alpha_2", "alpha_3", "bibliographic"):
        value = getattr(language, attribute, None)
        if value:
            codes.add(value.lower())
    return LanguageCode(code=text, name=language.name, codes=frozenset(codes))


def _point(field_name: str, value: Any) -> tuple[float, float] | str | None:
    """Accept (lat, lon) pairs as they are (checked) and text for the engine to geocode."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.strip() or None
    try:
        lat, lon = (float(v) for v in value)
    except (TypeError, ValueError):
        raise SearchError(field_name, "expected (latitude, longitude), an address or a ZIP code") from None
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise SearchError(field_name, f"coordinates out of range: {lat}, {lon}")
    return lat, lon


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One directory search. All filters combine with AND (as HSDS API filters do, §B.4).

    * ``need`` – a Gravity SDOH category code ("food-insecurity", mapped through the taxonomy
      crosswalk), a taxonomy term id, or a term code ("102-04"); narrower terms match too.
    * ``text`` – free text, web-search syntax ("quoted phrase", ``or``, ``-exclude``).
    * ``near`` – (lat, lon) or text ("94063", "lat,lon", an address) to sort by distance;
      ``radius_km`` limits the distance (``None`` = no limit).
    * ``language`` – ISO 639 code the service or its location speaks.
    * ``age`` – the client's age, checked against ``minimum_age``/``maximum_age``.
    * ``open_now`` / ``open_at`` – open at this moment / at that moment (naive = local default zone).
    * ``free_only`` – a zero-cost option exists or the fees say "free".
    * ``accepting_only`` – the hub's ``referral_status`` is "accepting".
    * ``covering`` – (lat, lon) or a postcode the service's area must cover (services without a
      service area are assumed to serve everyone, as in the HSDS API ``postcode`` filter).
    """

    need: str | None = None
    text: str | None = None
    near: tuple[float, float] | str | None = None
    radius_km: float | None = None
    language: str | None = None
    age: float | None = None
    open_now: bool = False
    open_at: datetime | None = None
    free_only: bool = False
    accepting_only: bool = False
    covering: tuple[float, float] | str | None = None
    page: int = 1
    per_page: int = 20
    language_info: LanguageCode | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: normalise in place once
        set_(self, "need", (self.need or "").strip() or None)
        set_(self, "text", (self.text or "").strip() or None)
        set_(self, "near", _point("near", self.near))
        set_(self, "covering", _point("covering", self.covering))
        if self.radius_km is not None:
            radius = _number("radius_km", self.radius_km)
            if radius < 0:
                raise SearchError("radius_km", "radius must not be negative")
            if radius > MAX_RADIUS_KM:
                raise SearchError("radius_km", f"radius must be at most {MAX_RADIUS_KM:g} km")
            set_(self, "radius_km", radius)
        if self.age is not None:
            age = _number("age", self.age)
            if not 0 <= age <= 130:
                raise SearchError("age", "age must be between 0 and 130")
            set_(self, "age", age)
        if self.language is not None:
            language = resolve_language(str(self.language)) if str(self.language).strip() else None
            if language is None:
                raise SearchError("language", f"unknown ISO 639 language code {self.language!r}")
            set_(self, "language", language.code)
            set_(self, "language_info", language)
        if self.open_at is not None and not isinstance(self.open_at, datetime):
            raise SearchError("open_at", "expected a date and time")
        for name in ("page", "per_page"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise SearchError(name, "expected a whole number")
        if self.page < 1:
            raise SearchError("page", "page numbers start at 1")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise SearchError("per_page", f"per_page must be between 1 and {MAX_PER_PAGE}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SearchQuery:
        """Build from request parameters (strings), as the UI form and the HSDS profile send them.

        Names: ``need``/``category``/``taxonomy_term_id``, ``text``/``search``/``q``, ``near`` or
        ``lat`` + ``lng``, ``radius_km`` (or ``radius`` in km, or ``proximity`` in metres),
        ``language``, ``age``, ``open_now``, ``open_at`` (ISO 8601), ``free``, ``accepting``,
        ``covering``/``postcode``, ``page``, ``per_page``.
        """

        def first(*names: str) -> Any:
            for name in names:
                value = params.get(name)
                if value not in (None, ""):
                    return value
            return None

        near: Any = first("near")
        lat, lng = first("lat"), first("lng", "lon")
        if lat is not None or lng is not None:
            if lat is None or lng is None:
                raise SearchError("near", "lat and lng must be given together")
            near = (_number("near", lat), _number("near", lng))
        radius = first("radius_km", "radius")
        proximity = first("proximity")
        if radius is None and proximity is not None:
            radius = _number("radius_km", proximity) / 1000.0
        open_at = first("open_at")
        if open_at is not None and not isinstance(open_at, datetime):
            try:
                open_at = datetime.fromisoformat(str(open_at))
            except ValueError:
                raise SearchError("open_at", "expected an ISO 8601 date and time") from None
        return cls(
            need=first("need", "category", "taxonomy_term_id"),
            text=first("text", "search", "q"),
            near=near,
            radius_km=_number("radius_km", radius) if radius is not None else None,
            language=first("language"),
            age=_number("age", first("age")) if first("age") is not None else None,
            open_now=_flag("open_now", first("open_now")),
            open_at=open_at,
            free_only=_flag("free", first("free", "free_only")),
            accepting_only=_flag("accepting", first("accepting", "accepting_only")),
            covering=first("covering", "postcode"),
            page=_whole("page", first("page") or 1),
            per_page=_whole("per_page", first("per_page") or 20),
        )


def _number(field_name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SearchError(field_name, f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SearchError(field_name, "expected a finite number")
    return number


def _whole(field_name: str, value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise SearchError(field_name, f"expected a whole number, got {value!r}") from None


def _flag(field_name: str, value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise SearchError(field_name, f"expected true or false, got {value!r}")
