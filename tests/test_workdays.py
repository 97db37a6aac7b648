"""The working-day calendar: known dates worked out by hand, then properties over many dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailagent.policy.workdays import WorkingCalendar

LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- Known dates ------------------------------------------------------------------------


def test_issue_example_christmas_2026() -> None:
    # Fri 18 Dec is day 0; 25 Dec and the Boxing Day substitute on Mon 28 Dec are not counted.
    assert CAL.add_working_days(date(2026, 12, 18), 5) == date(2026, 12, 29)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # Good Friday 3 Apr, Easter Monday 6 Apr
        (date(2027, 3, 25), 1, date(2027, 3, 30)),  # Easter 2027: 26 and 29 March
        (date(2027, 12, 24), 1, date(2027, 12, 29)),  # 25-26 Dec at a weekend: 27 and 28 off
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # New Year's Day, then the weekend
        (date(2026, 5, 1), 1, date(2026, 5, 5)),  # Early May bank holiday, Mon 4 May
        (date(2026, 8, 28), 1, date(2026, 9, 1)),  # Late summer bank holiday, Mon 31 Aug
        (date(2022, 9, 16), 1, date(2022, 9, 20)),  # State funeral, Mon 19 Sep 2022
        (date(2026, 6, 12), 0, date(2026, 6, 12)),  # day 0 is the start itself
        (date(2026, 6, 13), 1, date(2026, 6, 15)),  # a Saturday start counts from Monday
        (date(2026, 12, 29), -5, date(2026, 12, 18)),  # counting back over Christmas
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == expected


def test_bank_holidays_and_substitute_days_are_not_working_days() -> None:
    assert not CAL.is_working_day(date(2026, 12, 25))
    assert not CAL.is_working_day(date(2026, 12, 28))  # substitute for Boxing Day
    assert not CAL.is_working_day(date(2027, 12, 27))  # substitute for Christmas Day
    assert not CAL.is_working_day(date(2027, 12, 28))  # substitute for Boxing Day
    assert CAL.is_working_day(date(2026, 12, 24))
    assert not CAL.is_working_day(date(2026, 6, 13))  # Saturday


def test_closure_days_are_not_working_days() -> None:
    cal = WorkingCalendar(closures=[date(2026, 12, 24), date(2026, 12, 31)])
    assert not cal.is_working_day(date(2026, 12, 24))
    assert cal.add_working_days(date(2026, 12, 18), 5) == date(2026, 12, 30)
    assert cal.add_working_days(date(2026, 12, 29), 2) == date(2027, 1, 4)


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2026, 12, 18), date(2026, 12, 29)) == 5
    assert CAL.working_days_between(date(2026, 12, 29), date(2026, 12, 18)) == -5
    assert CAL.working_days_between(date(2026, 12, 18), date(2026, 12, 18)) == 0
    assert CAL.working_days_between(date(2026, 12, 24), date(2026, 12, 28)) == 0


@pytest.mark.parametrize(
    ("at", "day0"),
    [
        (utc(2026, 6, 10, 15, 59), date(2026, 6, 10)),  # 16:59 BST
        (utc(2026, 6, 10, 16, 0), date(2026, 6, 10)),  # 17:00 BST: at the cut-off, not after
        (utc(2026, 6, 10, 16, 1), date(2026, 6, 11)),  # 17:01 BST
        (utc(2026, 12, 2, 16, 59), date(2026, 12, 2)),  # 16:59 GMT
        (utc(2026, 12, 2, 17, 1), date(2026, 12, 3)),  # 17:01 GMT
        (utc(2026, 6, 10, 23, 30), date(2026, 6, 11)),  # 00:30 BST on Thursday
        (utc(2026, 6, 13, 10, 0), date(2026, 6, 15)),  # Saturday
        (utc(2026, 12, 18, 18, 0), date(2026, 12, 21)),  # Friday evening
        (utc(2026, 12, 24, 18, 0), date(2026, 12, 29)),  # Christmas Eve evening
        (utc(2026, 12, 25, 10, 0), date(2026, 12, 29)),  # Christmas Day
        (datetime(2026, 6, 10, 16, 1), date(2026, 6, 11)),  # naive is UTC, as in clock.py
    ],
)
def test_receipt_day(at: datetime, day0: date) -> None:
    assert CAL.receipt_day(at) == day0


def test_cutoff_is_configurable() -> None:
    cal = WorkingCalendar(cutoff=time(16, 0))
    assert cal.receipt_day(utc(2026, 12, 2, 16, 30)) == date(2026, 12, 3)


def test_receipt_on_a_closure_day_counts_from_the_next_working_day() -> None:
    cal = WorkingCalendar(closures=[date(2026, 12, 24)])
    assert cal.receipt_day(utc(2026, 12, 24, 10, 0)) == date(2026, 12, 29)


def test_cutoff_follows_the_clock_change() -> None:
    # 16:30 UTC is 17:30 BST on Friday 23 October but 16:30 GMT on Monday 26 October.
    assert CAL.receipt_day(utc(2026, 10, 23, 16, 30)) == date(2026, 10, 26)
    assert CAL.receipt_day(utc(2026, 10, 26, 16, 30)) == date(2026, 10, 26)


def test_deadline_is_the_local_end_of_the_last_day() -> None:
    assert CAL.deadline_date(utc(2026, 12, 18, 10, 0), 5) == date(2026, 12, 29)
    # End of Tuesday 29 December, GMT.
    assert CAL.deadline(utc(2026, 12, 18, 10, 0), 5) == utc(2026, 12, 30, 0, 0)


def test_dst_does_not_move_a_deadline_in_spring() -> None:
    # Day 0 Wed 25 March 2026 (GMT); clocks go forward on Sunday 29 March; day 5 is Wed 1 April.
    deadline = CAL.deadline(utc(2026, 3, 25, 10, 0), 5)
    assert deadline == utc(2026, 4, 1, 23, 0)  # midnight BST
    assert deadline.astimezone(LONDON).replace(tzinfo=None) == datetime(2026, 4, 2, 0, 0)


def test_dst_does_not_move_a_deadline_in_autumn() -> None:
    # Day 0 Wed 21 October 2026 (BST); clocks go back on Sunday 25 October; day 5 is Wed 28.
    deadline = CAL.deadline(utc(2026, 10, 21, 10, 0), 5)
    assert deadline == utc(2026, 10, 29, 0, 0)  # midnight GMT
    assert deadline.astimezone(LONDON).replace(tzinfo=None) == datetime(2026, 10, 29, 0, 0)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2026, 12, 2, 10, 0), utc(2026, 12, 2, 10, 0)),  # inside working hours
        (utc(2026, 12, 2, 8, 0), utc(2026, 12, 2, 9, 0)),  # before 09:00 GMT
        (utc(2026, 12, 2, 17, 0), utc(2026, 12, 3, 9, 0)),  # 17:00 is after hours
        (utc(2026, 12, 18, 17, 30), utc(2026, 12, 21, 9, 0)),  # Friday evening
        (utc(2026, 12, 24, 18, 0), utc(2026, 12, 29, 9, 0)),  # over Christmas
        (utc(2026, 6, 13, 12, 0), utc(2026, 6, 15, 8, 0)),  # Saturday; 09:00 BST on Monday
        (utc(2026, 6, 10, 23, 30), utc(2026, 6, 11, 8, 0)),  # past local midnight
        (utc(2026, 3, 27, 18, 0), utc(2026, 3, 30, 8, 0)),  # Friday GMT to Monday BST
    ],
)
def test_next_sending_time(at: datetime, expected: datetime) -> None:
    assert CAL.next_sending_time(at) == expected


def test_format_day() -> None:
    assert CAL.format_day(date(2026, 12, 29)) == "Tuesday 29 December 2026"
    assert CAL.format_day(date(2027, 1, 4)) == "Monday 4 January 2027"


def test_years_the_bank_holiday_calendar_does_not_cover_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the years"):
        CAL.is_working_day(date(2300, 1, 5))


def test_working_hours_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="working hours"):
        WorkingCalendar(working_hours=(time(17, 0), time(9, 0)))


# --- Properties ---------------------------------------------------------------------------

# Closures fall near the starts, or they would almost never matter.
starts = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
closure_sets = st.frozensets(
    st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 6, 30)), max_size=15
)
calendars = st.builds(lambda closures: WorkingCalendar(closures=closures), closure_sets)
counts = st.integers(min_value=0, max_value=120)
wide_starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2095, 12, 31))
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


def is_off(cal: WorkingCalendar, d: date) -> bool:
    """Independently of the calendar: a weekend, an English bank holiday or a closure."""
    return d.weekday() >= 5 or d in holidays.UK(subdiv="ENG", years=d.year) or d in cal.closures


@given(calendars, starts, counts)
def test_adding_then_counting_back_gives_n(cal: WorkingCalendar, start: date, n: int) -> None:
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


@given(wide_starts, st.integers(min_value=0, max_value=600))
def test_adding_then_counting_back_gives_n_over_the_years(start: date, n: int) -> None:
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


@given(calendars, starts, st.integers(min_value=1, max_value=120))
def test_counting_back_from_a_working_day(cal: WorkingCalendar, start: date, n: int) -> None:
    start = cal.working_day_on_or_after(start)
    earlier = cal.add_working_days(start, -n)
    assert cal.working_days_between(start, earlier) == -n
    assert cal.add_working_days(earlier, n) == start


@given(calendars, starts, st.integers(min_value=1, max_value=120))
def test_no_deadline_falls_on_a_day_off(cal: WorkingCalendar, start: date, n: int) -> None:
    assert not is_off(cal, cal.add_working_days(start, n))


@given(calendars, instants, counts)
def test_deadlines_from_any_instant_fall_on_working_days(
    cal: WorkingCalendar, at: datetime, n: int
) -> None:
    day = cal.deadline_date(at, n)
    assert not is_off(cal, day)
    end = cal.deadline(at, n).astimezone(cal.tz)
    assert end.time() == time(0, 0)
    assert end.date() == day + timedelta(days=1)


@given(calendars, starts, counts)
def test_monotonic_in_n(cal: WorkingCalendar, start: date, n: int) -> None:
    assert cal.add_working_days(start, n) < cal.add_working_days(start, n + 1)


@given(calendars, starts, starts, counts)
def test_monotonic_in_start(cal: WorkingCalendar, a: date, b: date, n: int) -> None:
    first, second = sorted((a, b))
    assert cal.add_working_days(first, n) <= cal.add_working_days(second, n)


@given(calendars, instants, instants)
def test_receipt_day_is_monotonic_and_a_working_day(
    cal: WorkingCalendar, a: datetime, b: datetime
) -> None:
    first, second = sorted((a, b))
    assert cal.receipt_day(first) <= cal.receipt_day(second)
    assert not is_off(cal, cal.receipt_day(first))
    assert cal.receipt_day(first) >= first.astimezone(cal.tz).date()


@given(calendars, instants)
def test_emails_are_sent_only_in_working_hours(cal: WorkingCalendar, at: datetime) -> None:
    sent = cal.next_sending_time(at)
    local = sent.astimezone(cal.tz)
    assert sent >= at
    assert not is_off(cal, local.date())
    assert time(9, 0) <= local.time() < time(17, 0)
