"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: BIGINT on PostgreSQL, but INTEGER on SQLite so that the primary key is the rowid (autoincrement works).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

#: JSONB on PostgreSQL (queryable, compact), JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, return aware UTC.

    SQLite has no time zones and PostgreSQL ``timestamp`` comparisons must not depend on the session zone, so
    every instant is normalised to UTC on the way in; callers always get aware datetimes back.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current instant, aware UTC (microsecond precision, which both databases keep)."""
    return datetime.now(UTC)
