"""FHIR date/dateTime/instant values as UTC ranges.

A FHIR date is a range at its own precision: ``2020`` is the whole year, ``2020-03-04T10:00`` the whole minute.
Search compares ranges (FHIR R4 §3.1.1.4.2), so both stored values and search values become ``(low, high)``.
Values without a zone are taken as UTC, the hub's single internal zone.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def parse_range(text: str) -> tuple[datetime, datetime] | None:
    """The UTC range a FHIR date/dateTime/instant denotes, or None if it is not one."""
    match = _DATE_RE.match(text.strip())
    if not match:
        return None
    try:
        year = int(match["y"])
        if match["m"] is None:
            low = datetime(year, 1, 1, tzinfo=UTC)
            return low, datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        month = int(match["m"])
        if match["d"] is None:
            low = datetime(year, month, 1, tzinfo=UTC)
            last = calendar.monthrange(year, month)[1]
            return low, datetime(year, month, last, 23, 59, 59, 999999, tzinfo=UTC)
        day = int(match["d"])
        if match["H"] is None:
            low = datetime(year, month, day, tzinfo=UTC)
            return low, low + timedelta(days=1) - timedelta(microseconds=1)
        tz = UTC
        if match["tz"] and match["tz"] != "Z":
            sign = 1 if match["tz"][0] == "+" else -1
            hours, minutes = int(match["tz"][1:3]), int(match["tz"][4:6])

            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        hour, minute = int(match["H"]), int(match["M"])
        if match["S"] is None:
            low = datetime(year, month, day, hour, minute, tzinfo=tz)
            step = timedelta(minutes=1)
        elif match["f"] is None:
            low = datetime(year, month, day, hour, minute, int(match["S"]), tzinfo=tz)
            step = timedelta(seconds=1)
        else:
            fraction = match["f"]
            micro = int(fraction[:6].ljust(6, "0"))
            low = datetime(year, month, day, hour, minute, int(match["S"]), micro, tzinfo=tz)
            step = timedelta(microseconds=1) * (10 ** max(0, 6 - len(fraction)))
        low = low.astimezone(UTC)
        return low, low + step - timedelta(microseconds=1)
    except (ValueError, OverflowError):
        return None
