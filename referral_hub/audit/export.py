"""CSV export of the audit log (``referral-hub audit export`` and the admin download route).

Rows are streamed in id order in batches, so an export of millions of rows needs little memory. Cells that a
spreadsheet would run as a formula (starting with ``= + - @``) are prefixed with ``'`` (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.audit.models import AuditEventRow
from referral_hub.fhir.batch import flush_batch
from referral_hub.fhir.store import format_instant

COLUMNS = (
    "id",
    "recorded_at",
    "event_type",
    "subtype",
    "action",
    "outcome",
    "outcome_desc",
    "principal_kind",
    "principal_id",
    "organization_id",
    "resource_type",
    "resource_id",
    "version_id",
    "patient_ref",
    "query",
    "source_address",
    "request_id",
)
_BATCH = 1000


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = format_instant(value) if isinstance(value, datetime) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def iter_csv(session: Session, since: datetime | None = None, until: datetime | None = None) -> Iterator[str]:
    """The header line, then one CSV line per audit row recorded in [since, until)."""
    flush_batch(session)  # rows recorded earlier in this transaction (the export's own row) belong in the file
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(list(COLUMNS))
    last_id = 0
    while True:
        query = select(AuditEventRow).where(AuditEventRow.id > last_id)
        if since is not None:
            query = query.where(AuditEventRow.recorded_at >= since)
        if until is not None:
            query = query.where(AuditEventRow.recorded_at < until)
        rows = list(session.execute(query.order_by(AuditEventRow.id).limit(_BATCH)).scalars())
        if not rows:
            return
        for row in rows:
            yield line([_cell(getattr(row, column)) for column in COLUMNS])
        last_id = rows[-1].id


__all__ = ["COLUMNS", "iter_csv"]
