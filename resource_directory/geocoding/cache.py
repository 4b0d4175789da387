"""Persistent cache of provider geocoding answers (table ``geocode_cache``).

Why a table and not memory: online providers are rate limited (Nominatim's policy is one request
per second) and some bill per request, while re-imports of a directory ask for the same addresses
again and again. Negative answers are cached too, so an address a provider cannot find is not
asked for on every import. The table lives on ``resource_directory.models.Base.metadata`` so the
hub's Alembic migrations create it with the HSDS tables.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from resource_directory.models import Base


def _utcnow() -> datetime:
    return datetime.now(UTC)


class GeocodeCacheEntry(Base):
    """One provider's answer for one normalized query; ``latitude`` is null for "not found"."""

    __tablename__ = "geocode_cache"
    __table_args__ = (UniqueConstraint("provider", "query_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(64))
    # sha256 of the normalized query: addresses can be long, and a fixed-width key indexes well.
    query_hash: Mapped[str] = mapped_column(String(64))
    query_text: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str | None] = mapped_column(String(32))
    display_address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)

    def __repr__(self) -> str:
        found = f"{self.latitude},{self.longitude}" if self.latitude is not None else "not found"
        return f"<GeocodeCacheEntry provider={self.provider} {found}>"


def normalize_query(query: str) -> str:
    """Case and whitespace do not change an address, so they must not miss the cache."""
    return re.sub(r"\s+", " ", query).strip().casefold()


def query_hash(query: str) -> str:
    return hashlib.sha256(normalize_query(query).encode("utf-8")).hexdigest()


def cache_lookup(session: Session, provider: str, query: str) -> GeocodeCacheEntry | None:
    """Return the cached answer (possibly a negative one) or ``None`` if never asked."""
    return session.execute(
        select(GeocodeCacheEntry).where(
            GeocodeCacheEntry.provider == provider, GeocodeCacheEntry.query_hash == query_hash(query)
        )
    ).scalar_one_or_none()


def cache_store(
    session: Session,
    provider: str,
    query: str,
    *,
    latitude: float | None,
    longitude: float | None,
    precision: str | None,
    display_address: str | None,
) -> GeocodeCacheEntry:
    """Insert or replace the answer for (provider, query); flushes, never commits (the caller does)."""
    entry = cache_lookup(session, provider, query)
    if entry is None:
        entry = GeocodeCacheEntry(provider=provider, query_hash=query_hash(query), query_text=normalize_query(query))
        session.add(entry)
    entry.latitude, entry.longitude = latitude, longitude
    entry.precision, entry.display_address = precision, display_address
    entry.created_at = _utcnow()
    session.flush()
    return entry
