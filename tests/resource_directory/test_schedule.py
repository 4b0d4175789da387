"""Open-now evaluation from HSDS 3.0 schedules (RRULE semantics, time zones, DST, midnight)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from resource_directory.search.schedule import open_status, parse_clock, parse_timezone
from tests.resource_directory.fixtures_search import Hours

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")


def test_weekday_hours_open_inside_and_closed_outside() -> None:
    weekdays = [Hours("MO,TU,WE,TH,FR", "09:00", "17:00")]
    monday_noon = datetime(2024, 5, 6, 12, 0, tzinfo=NY)
    status = open_status(weekdays, monday_noon, NY)
    assert status.is_open
    assert status.describe(monday_noon) == "open now until 17:00"
    saturday = datetime(2024, 5, 11, 12, 0, tzinfo=NY)
    closed = open_status(weekdays, saturday, NY)
    assert not closed.is_open
    assert closed.known
    assert closed.next_opens_at == datetime(2024, 5, 13, 9, 0, tzinfo=NY)
    assert closed.describe(saturday) == "closed, opens Mon 09:00"


def test_closing_time_is_exclusive_and_opening_time_inclusive() -> None:
    hours = [Hours("MO", "09:00", "17:00")]
    assert open_status(hours, datetime(2024, 5, 6, 9, 0, tzinfo=NY), NY).is_open
    assert not open_status(hours, datetime(2024, 5, 6, 17, 0, tzinfo=NY), NY).is_open


def test_overnight_shelter_is_open_after_midnight_on_the_next_day() -> None:
    friday_night = [Hours("FR", "20:00", "08:00")]
    saturday_3am = datetime(2024, 5, 11, 3, 0, tzinfo=NY)
    status = open_status(friday_night, saturday_3am, NY)
    assert status.is_open
    assert status.closes_at == datetime(2024, 5, 11, 8, 0, tzinfo=NY)
    assert not open_status(friday_night, datetime(2024, 5, 10, 3, 0, tzinfo=NY), NY).is_open  # Friday 3am


def test_schedule_time_zone_wins_over_the_searchers_zone() -> None:
    la_hours = [Hours("MO", "09:00", "17:00", timezone="America/Los_Angeles")]
    # 17:30 UTC = 10:30 in Los Angeles (PDT) but 13:30 in New York: open because LA hours apply.
    at = datetime(2024, 5, 6, 17, 30, tzinfo=UTC)
    assert open_status(la_hours, at, NY).is_open
    # 16:30 UTC = 09:30 LA; 15:30 UTC = 08:30 LA: closed, although New York would be open.
    assert not open_status(la_hours, datetime(2024, 5, 6, 15, 30, tzinfo=UTC), NY).is_open


def test_numeric_utc_offset_and_offset_in_opens_at_are_honoured() -> None:
    at = datetime(2024, 1, 8, 17, 30, tzinfo=UTC)  # Monday, 09:30 at UTC-8
    assert open_status([Hours("MO", "09:00", "17:00", timezone="-8")], at, UTC).is_open
    assert open_status([Hours("MO", "09:00-08:00", "17:00-08:00")], at, UTC).is_open
    assert not open_status([Hours("MO", "09:00", "17:00", timezone="+1")], at, UTC).is_open


def test_naive_moment_is_read_in_the_default_zone() -> None:
    hours = [Hours("MO", "09:00", "17:00", timezone="America/New_York")]
    assert open_status(hours, datetime(2024, 5, 6, 10, 0), "America/New_York").is_open


def test_daylight_saving_change_keeps_wall_clock_hours() -> None:
    hours = [Hours("SA,SU,MO", "09:00", "17:00", timezone="America/New_York")]
    # 13:30 UTC is 08:30 EST on Saturday 9 March 2024, but 09:30 EDT on Sunday 10 March (clocks moved).
    assert not open_status(hours, datetime(2024, 3, 9, 13, 30, tzinfo=UTC), UTC).is_open
    assert open_status(hours, datetime(2024, 3, 10, 13, 30, tzinfo=UTC), UTC).is_open
    # Autumn: Sunday 3 November 2024 09:30 EST = 14:30 UTC.
    assert open_status(hours, datetime(2024, 11, 3, 14, 30, tzinfo=UTC), UTC).is_open
    assert not open_status(hours, datetime(2024, 11, 3, 13, 30, tzinfo=UTC), UTC).is_open


def test_overnight_interval_across_spring_forward_is_shorter_in_real_time() -> None:
    # Saturday 22:00 to Sunday 06:00 local across the DST jump: 7 real hours, still ends at 06:00 local.
    hours = [Hours("SA", "22:00", "06:00", timezone="America/New_York")]
    status = open_status(hours, datetime(2024, 3, 10, 5, 30, tzinfo=NY), UTC)
    assert status.is_open
    assert status.closes_at is not None
    assert status.closes_at.astimezone(UTC) == datetime(2024, 3, 10, 10, 0, tzinfo=UTC)


def test_no_schedule_means_unknown_not_open() -> None:
    status = open_status([], datetime(2024, 5, 6, 12, 0, tzinfo=NY), NY)
    assert not status.known
    assert not status.is_open
    assert status.describe(datetime(2024, 5, 6, 12, 0, tzinfo=NY)) == "hours unknown"
    by_appointment = [Hours(None, None, None, freq=None, extra={"description": "By appointment"})]
    assert not open_status(by_appointment, datetime(2024, 5, 6, 12, 0, tzinfo=NY), NY).known


def test_monthly_first_tuesday_rule() -> None:
    first_tuesday = [Hours("1TU", "10:00", "12:00", freq="MONTHLY")]
    assert open_status(first_tuesday, datetime(2024, 5, 7, 11, 0, tzinfo=NY), NY).is_open
    second_tuesday = open_status(first_tuesday, datetime(2024, 5, 14, 11, 0, tzinfo=NY), NY)
    assert not second_tuesday.is_open
    assert second_tuesday.next_opens_at == datetime(2024, 6, 4, 10, 0, tzinfo=NY)


def test_monthly_by_month_day() -> None:
    fifteenth = [Hours(None, "10:00", "12:00", freq="MONTHLY", extra={"bymonthday": "15"})]
    assert open_status(fifteenth, datetime(2024, 5, 15, 11, 0, tzinfo=NY), NY).is_open
    assert not open_status(fifteenth, datetime(2024, 5, 16, 11, 0, tzinfo=NY), NY).is_open


def test_every_other_week_counts_from_dtstart() -> None:
    biweekly = [Hours("WE", "09:00", "11:00", extra={"interval": 2, "dtstart": date(2024, 5, 1)})]
    assert open_status(biweekly, datetime(2024, 5, 15, 10, 0, tzinfo=NY), NY).is_open
    assert not open_status(biweekly, datetime(2024, 5, 8, 10, 0, tzinfo=NY), NY).is_open


def test_valid_from_valid_to_and_until_bound_the_schedule() -> None:
    summer = [Hours("MO", "09:00", "17:00", extra={"valid_from": date(2024, 6, 1), "valid_to": date(2024, 8, 31)})]
    assert not open_status(summer, datetime(2024, 5, 6, 12, 0, tzinfo=NY), NY).is_open
    assert open_status(summer, datetime(2024, 6, 3, 12, 0, tzinfo=NY), NY).is_open
    ending = [Hours("MO", "09:00", "17:00", extra={"until": date(2024, 5, 1)})]
    assert not open_status(ending, datetime(2024, 5, 6, 12, 0, tzinfo=NY), NY).is_open


def test_touching_schedules_merge_into_one_opening() -> None:
    split = [Hours("MO", "09:00", "12:00"), Hours("MO", "12:00", "17:00")]
    status = open_status(split, datetime(2024, 5, 6, 10, 0, tzinfo=NY), NY)
    assert status.closes_at == datetime(2024, 5, 6, 17, 0, tzinfo=NY)


def test_open_around_the_clock() -> None:
    always = [Hours("MO,TU,WE,TH,FR,SA,SU", "00:00", "00:00")]
    at = datetime(2024, 5, 6, 3, 0, tzinfo=NY)
    status = open_status(always, at, NY)
    assert status.is_open
    assert status.closes_at is None
    assert status.describe(at) == "open now, open 24 hours"


def test_unreadable_rule_is_ignored_not_crashing() -> None:
    broken = [Hours("XX", "09:00", "17:00"), Hours("MO", "nine", "five")]
    assert not open_status(broken, datetime(2024, 5, 6, 12, 0, tzinfo=NY), NY).known


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00", (9, 0)), ("9:30 AM", (9, 30)), ("5pm", (17, 0)), ("17:30:00", (17, 30)), ("24:00", (23, 59))],
)
def test_clock_formats(text: str, expected: tuple[int, int]) -> None:
    parsed = parse_clock(text)
    assert parsed is not None
    assert (parsed[0].hour, parsed[0].minute) == expected


def test_timezone_forms() -> None:
    assert parse_timezone("America/Chicago") == ZoneInfo("America/Chicago")
    assert parse_timezone(-5).utcoffset(None).total_seconds() == -5 * 3600  # type: ignore[union-attr]
    assert parse_timezone("+05:30").utcoffset(None).total_seconds() == 5.5 * 3600  # type: ignore[union-attr]
    assert parse_timezone("Mars/Olympus") is None
