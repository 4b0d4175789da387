"""What a search returns: one :class:`SearchResult` per service, in a :class:`SearchPage`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A service at its best-matching location (the nearest one when searching near a point).

    ``matched`` lists why it matched, one entry per active filter. ``open_now`` is ``None`` when
    the service publishes no usable hours; ``hours`` is the matching text for the result list.
    """

    service_id: str
    service_name: str
    organization_name: str | None
    location_id: str | None
    location_name: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    distance_km: float | None
    matched: list[str]
    assured_date: date | None
    freshness_days: int | None
    referral_status: str
    phones: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    open_now: bool | None = None
    hours: str = "hours unknown"
    closes_at: datetime | None = None
    next_opens_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results plus the total number of matching services (for paging links)."""

    total: int
    page: int
    per_page: int
    results: list[SearchResult]

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))
