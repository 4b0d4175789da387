"""Open now / open at, from HSDS 3.0 ``schedule`` rows with iCalendar RRULE semantics.

HSDS 3.0 (`schedule` object, spec §B.2) describes opening hours as an RRULE (``freq``, ``interval``,
``byday``, ``bymonthday``, ``byweekno``, ``byyearday``, ``count``, ``until``, ``wkst``, ``dtstart``)
that produces the *days* a service opens, plus ``opens_at`` / ``closes_at`` clock times on those
days, bounded by ``valid_from`` / ``valid_to``. We expand the rule with ``dateutil.rrule`` (a
faithful RFC 5545 implementation) and turn each occurrence into a concrete open interval.

Rules worth knowing:

* Time zone, first match wins: the schedule's ``timezone`` (HSDS 3.0 allows a UTC offset number;
  an IANA name is accepted too), an offset written in ``opens_at`` ("09:00-08:00"), the location's
  zone (the engine derives it from the ZIP code), then the caller's default. Intervals are built
  as local wall-clock times and compared in UTC, so DST changes move them correctly.
* ``closes_at`` earlier than or equal to ``opens_at`` means the interval ends the next day
  (a night shelter open 20:00–08:00); equal times mean 24 hours.
* A missing ``freq`` means WEEKLY when ``byday`` is given, else DAILY.
* A schedule without ``opens_at``/``closes_at`` (e.g. "by appointment", or a holiday closure
  described in ``notes``) cannot be evaluated and is ignored; a service with no evaluable
  schedule has *unknown* hours and never passes an open-now filter.
* Several schedule rows are a union; touching intervals merge (09–12 + 12–17 is "open until 17:00").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from datetime import timezone as fixed_timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

# How far ahead we look for the next opening: monthly rules ("first Tuesday") need two months.
_HORIZON = timedelta(days=62)
_SHORT_HORIZON = timedelta(days=8)  # weekly and daily rules repeat within it
_LOOKBACK = timedelta(days=2)  # an interval that started yesterday may still be running
_FREQS = {"YEARLY": rrule.YEARLY, "MONTHLY": rrule.MONTHLY, "WEEKLY": rrule.WEEKLY, "DAILY": rrule.DAILY}
_WEEKDAYS = {"MO": rrule.MO, "TU": rrule.TU, "WE": rrule.WE, "TH": rrule.TH, "FR": rrule.FR, "SA": rrule.SA}
_WEEKDAYS["SU"] = rrule.SU
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_CLOCK = re.compile(
    r"(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
)
_OFFSET = re.compile(r"(?:UTC|GMT)?\s*(?P<sign>[+-])?(?P<h>\d{1,2})(?:(?::?(?P<m>\d{2}))|(?P<frac>\.\d+))?")


class ScheduleLike(Protocol):
    """The HSDS 3.0 schedule fields we read (an ORM row or any object with these attributes)."""

    freq: str | None
    interval: int | None
    byday: str | None
    bymonthday: str | None
    opens_at: Any
    closes_at: Any
    timezone: Any


@dataclass(frozen=True, slots=True)
class OpenStatus:
    """Whether a place is open at an instant, and the nearest change.

    ``known`` is False when no schedule could be evaluated; then ``is_open`` is False too.
    ``closes_at`` / ``next_opens_at`` are aware datetimes in the schedule's own time zone.
    """

    known: bool
    is_open: bool
    closes_at: datetime | None = None
    next_opens_at: datetime | None = None

    def describe(self, at: datetime) -> str:
        """Human text for the result list: "open now until 17:00", "closed, opens Tue 09:00"."""
        if not self.known:
            return "hours unknown"
        if self.is_open:
            if self.closes_at is None:
                return "open now, open 24 hours"
            return f"open now until {_clock(self.closes_at, at)}"
        if self.next_opens_at is None:
            return "closed"
        return f"closed, opens {_clock(self.next_opens_at, at)}"


def _clock(moment: datetime, reference: datetime) -> str:
    local_reference = reference.astimezone(moment.tzinfo) if reference.tzinfo else reference
    if moment.date() == local_reference.date():
        return moment.strftime("%H:%M")
    return moment.strftime("%a %H:%M")


def parse_clock(value: Any) -> tuple[time, tzinfo | None] | None:
    """Parse an HSDS ``opens_at``/``closes_at``: "09:00", "9:00 AM", "17:30:00", "09:00-08:00", "09:00Z".

    Returns ``None`` for empty or unreadable values; ``time`` objects are accepted as they are.
    """
    if value is None:
        return None
    if isinstance(value, time):
        return value.replace(tzinfo=None), value.tzinfo
    match = _CLOCK.fullmatch(str(value).strip())
    if match is None:
        return None
    hour, minute, second = int(match["h"]), int(match["m"] or 0), int(match["s"] or 0)
    if ampm := match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm[0] in "Pp" else 0)
    if hour == 24 and minute == 0 and second == 0:  # "24:00" = end of day
        hour, minute, second = 23, 59, 59
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = None
    if match["tz"]:
        offset = UTC if match["tz"] == "Z" else parse_timezone(match["tz"])
    return time(hour, minute, second), offset


def parse_timezone(value: Any) -> tzinfo | None:
    """An IANA name ("America/New_York"), "UTC", or a UTC offset number/text ("-8", "-08:00", 5.5)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return _offset_zone(float(value))
    text = str(value).strip()
    if text.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    match = _OFFSET.fullmatch(text)
    if match is not None:
        hours = int(match["h"]) + int(match["m"] or 0) / 60 + float(match["frac"] or 0)
        return _offset_zone(-hours if match["sign"] == "-" else hours)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _offset_zone(hours: float) -> tzinfo | None:
    if not -14 <= hours <= 14:
        return None
    return fixed_timezone(timedelta(minutes=round(hours * 60)))


def _parse_byday(text: str | None) -> list[rrule.weekday] | None:
    if not text:
        return None
    days = []
    for token in re.split(r"[\s,;]+", text.strip().upper()):
        if not token:
            continue
        match = _BYDAY.fullmatch(token)
        if match is None:
            raise ValueError(f"bad byday value {token!r}")
        weekday = _WEEKDAYS[match.group(2)]
        days.append(weekday(int(match.group(1))) if match.group(1) else weekday)
    return days or None


def _parse_ints(value: Any) -> list[int] | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return [value]
    return [int(part) for part in re.split(r"[\s,;]+", str(value).strip()) if part] or None


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _field(schedule: Any, name: str) -> Any:
    return getattr(schedule, name, None)


def schedule_intervals(
    schedule: ScheduleLike, start: datetime, end: datetime, default_tz: tzinfo
) -> list[tuple[datetime, datetime]] | None:
    """Open intervals (aware, in the schedule's zone) of one schedule that overlap [start, end).

    Returns ``None`` when the schedule cannot be evaluated (no hours, unreadable rule).
    """
    opens = parse_clock(_field(schedule, "opens_at"))
    closes = parse_clock(_field(schedule, "closes_at"))
    if opens is None or closes is None:
        return None
    zone = parse_timezone(_field(schedule, "timezone")) or opens[1] or default_tz
    try:
        rule = _build_rule(schedule, opens[0], start.astimezone(zone).replace(tzinfo=None))
    except (ValueError, TypeError):
        return None
    if rule is None:
        return None
    valid_from = _as_date(_field(schedule, "valid_from"))
    valid_to = _as_date(_field(schedule, "valid_to"))
    length_days = 0 if closes[0] > opens[0] else 1  # closes <= opens: ends the next day
    local_start = (start - _LOOKBACK).astimezone(zone).replace(tzinfo=None)
    local_end = end.astimezone(zone).replace(tzinfo=None)
    intervals = []
    for occurrence in rule.between(local_start, local_end, inc=True):
        day = occurrence.date()
        if (valid_from and day < valid_from) or (valid_to and day > valid_to):
            continue
        opened = datetime.combine(day, opens[0], tzinfo=zone)
        closed = datetime.combine(day + timedelta(days=length_days), closes[0], tzinfo=zone)
        if closed.astimezone(UTC) > start.astimezone(UTC):
            intervals.append((opened, closed))
    return intervals


def _build_rule(schedule: ScheduleLike, opens: time, near: datetime) -> rrule.rrule | None:
    byday = _parse_byday(_field(schedule, "byday"))
    bymonthday = _parse_ints(_field(schedule, "bymonthday"))
    byweekno = _parse_ints(_field(schedule, "byweekno"))
    byyearday = _parse_ints(_field(schedule, "byyearday"))
    freq_text = (_field(schedule, "freq") or "").strip().upper()
    freq = _FREQS.get(freq_text) if freq_text else (rrule.WEEKLY if byday else rrule.DAILY)
    if freq is None:
        raise ValueError(f"unsupported freq {freq_text!r}")
    if freq == rrule.WEEKLY and not byday:
        freq = rrule.DAILY  # "weekly" with no day named: no weekday to anchor on, read as every day
    interval = int(_field(schedule, "interval") or 1)
    count = _field(schedule, "count")
    dtstart_day = _as_date(_field(schedule, "dtstart"))
    if dtstart_day is None:
        if interval > 1 or count:
            # An interval or count needs a fixed start; HSDS gives none, so use valid_from or a
            # fixed Monday so the answer is at least stable.
            dtstart_day = _as_date(_field(schedule, "valid_from")) or date(1970, 1, 5)
        elif freq == rrule.MONTHLY and not (byday or bymonthday):
            return None  # "monthly" on an unnamed day is unknowable without dtstart
        else:
            # Interval 1: the anchor does not change which days match; start near the window
            # (a month back, for monthly rules) so rrule does not iterate from 1970.
            dtstart_day = (near - timedelta(days=40)).date().replace(day=1)
    until_value = _field(schedule, "until")
    until = None
    if until_value:
        until = datetime.combine(_as_date(until_value), time(23, 59, 59))
    wkst_text = (_field(schedule, "wkst") or "").strip().upper()
    return rrule.rrule(
        freq,
        dtstart=datetime.combine(dtstart_day, opens),
        interval=interval,
        wkst=_WEEKDAYS[wkst_text] if wkst_text in _WEEKDAYS else None,
        count=int(count) if count else None,
        until=until,
        byweekday=byday,
        bymonthday=bymonthday,
        byweekno=byweekno,
        byyearday=byyearday,
        cache=False,
    )


def open_status(schedules: Iterable[ScheduleLike], at: datetime, default_tz: tzinfo | str = "UTC") -> OpenStatus:
    """Is anything in ``schedules`` open at ``at``? Naive ``at`` is read in ``default_tz``.

    Evaluated over a short window first (a week and a day: enough for every weekly or daily rule) and
    over the full horizon only when that cannot decide — the place is open past the window's end, or
    no opening was found in it (monthly rules). The answer is the same as the full horizon's: an
    interval that matters inside the window starts inside it.
    """
    zone = ZoneInfo(default_tz) if isinstance(default_tz, str) else default_tz
    moment = at if at.tzinfo else at.replace(tzinfo=zone)
    rules = list(schedules)
    status, undecided = _status_within(rules, moment, zone, _SHORT_HORIZON)
    if undecided:
        status, _ = _status_within(rules, moment, zone, _HORIZON)
    return status


def _status_within(
    schedules: Sequence[ScheduleLike], moment: datetime, zone: tzinfo, horizon: timedelta
) -> tuple[OpenStatus, bool]:
    """The status over ``[moment, moment + horizon)`` and whether a longer horizon could change it."""
    intervals: list[tuple[datetime, datetime]] = []
    known = False
    for schedule in schedules:
        found = schedule_intervals(schedule, moment, moment + horizon, zone)
        if found is None:
            continue
        known = True
        intervals.extend(found)
    if not known:
        return OpenStatus(known=False, is_open=False), False
    merged = _merge(intervals)
    now_utc = moment.astimezone(UTC)
    end_utc = (moment + horizon).astimezone(UTC)
    for opened, closed in merged:
        if opened.astimezone(UTC) <= now_utc < closed.astimezone(UTC):
            # An interval still running at the end of the horizon is "open around the clock".
            running_forever = closed.astimezone(UTC) >= end_utc
            return OpenStatus(True, True, closes_at=None if running_forever else closed), running_forever
    upcoming = [opened for opened, _ in merged if opened.astimezone(UTC) > now_utc]
    next_open = min(upcoming, key=lambda d: d.astimezone(UTC), default=None)
    return OpenStatus(True, False, next_opens_at=next_open), next_open is None


def _merge(intervals: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    ordered = sorted(intervals, key=lambda pair: pair[0].astimezone(UTC))
    merged: list[tuple[datetime, datetime]] = []
    for opened, closed in ordered:
        if merged and opened.astimezone(UTC) <= merged[-1][1].astimezone(UTC):
            if closed.astimezone(UTC) > merged[-1][1].astimezone(UTC):
                merged[-1] = (merged[-1][0], closed)
        else:
            merged.append((opened, closed))
    return merged


def is_open_at(schedules: Iterable[ScheduleLike], at: datetime, default_tz: tzinfo | str = "UTC") -> bool:
    """Shortcut for filters: True only when known to be open."""
    return open_status(schedules, at, default_tz).is_open
