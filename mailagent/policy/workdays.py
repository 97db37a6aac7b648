"""The working-day calendar: every deadline, reminder time and day count comes from here.

A working day is Monday to Friday, excluding bank holidays in England (from the `holidays`
package; Wales has the same ones) and the council's own closure days. Rules, in the words of
the policies and of issue 3:

- The day a message is received is day 0. A message that arrives on a non-working day, or
  after the council's cut-off time (17:00 local unless configured), counts as received on the
  next working day.
- A deadline of N working days is the end of the Nth working day after day 0, local time:
  "by the end of Tuesday 29 December 2026". As an instant it is the local midnight that ends
  that day, so a deadline has passed when `now >= deadline`. Local midnight exists on every
  day in Europe/London (clocks change at 01:00 UTC), so DST never moves a deadline.
- Emails go only within working hours on working days (`next_sending_time`).

Everything here is pure: no clock, no IO. Instants in and out are aware UTC datetimes; a naive
datetime is taken to be UTC, as `mailagent.clock.to_utc` does everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from mailagent.clock import to_utc

_ONE_DAY = timedelta(days=1)


class WorkingCalendar:
    """The one calendar of working days, for one council."""

    def __init__(
        self,
        *,
        timezone: str = "Europe/London",
        closures: Iterable[date] = (),
        cutoff: time = time(17, 0),
        working_hours: tuple[time, time] = (time(9, 0), time(17, 0)),
        subdivision: str = "ENG",
    ) -> None:
        start, end = working_hours
        if not start < end:
            raise ValueError(f"working hours must start before they end, got {start}-{end}")
        self.tz = ZoneInfo(timezone)
        self.closures = frozenset(closures)
        self.cutoff = cutoff
        self.working_hours = (start, end)
        # The package adds each year's holidays the first time a date in it is looked up.
        self._bank_holidays = holidays.country_holidays("GB", subdiv=subdivision)

    def is_working_day(self, d: date) -> bool:
        """Monday to Friday, not a bank holiday (substitute days included), not a closure day."""
        # Outside the package's years every day would look like a working day: refuse instead.
        if not self._bank_holidays.start_year <= d.year <= self._bank_holidays.end_year:
            raise ValueError(f"{d} is outside the years the bank-holiday calendar covers")
        return d.weekday() < 5 and d not in self._bank_holidays and d not in self.closures

    def working_day_on_or_after(self, d: date) -> date:
        """`d` itself if it is a working day, else the next working day."""
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def receipt_day(self, at: datetime) -> date:
        """Day 0 for a message that arrived at the instant `at`."""
        local = to_utc(at).astimezone(self.tz)
        day = local.date()
        if local.time() > self.cutoff:
            day += _ONE_DAY
        return self.working_day_on_or_after(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The nth working day after `start` (`start` itself is day 0 and never counted).

        A negative n counts back: -1 is the last working day before `start`. n == 0 is `start`.
        """
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        day = start
        for _ in range(abs(n)):
            day += step
            while not self.is_working_day(day):
                day += step
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after `start`, up to and including `end`.

        Negative when `end` is before `start`, so that
        `working_days_between(d, add_working_days(d, n)) == n` for every n >= 0.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    def deadline_date(self, received_at: datetime, n: int) -> date:
        """The last day of a timescale of n working days for something received at `received_at`."""
        return self.add_working_days(self.receipt_day(received_at), n)

    def deadline(self, received_at: datetime, n: int) -> datetime:
        """The instant (aware UTC) n working days run out: the local end of their last day."""
        return self.end_of_day(self.deadline_date(received_at, n))

    def end_of_day(self, d: date) -> datetime:
        """The local midnight that ends day `d`, as an aware UTC instant."""
        return datetime.combine(d + _ONE_DAY, time(0), tzinfo=self.tz).astimezone(UTC)

    def next_sending_time(self, at: datetime) -> datetime:
        """`at` if it is within working hours on a working day, else when they next begin."""
        start, end = self.working_hours
        local = to_utc(at).astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and start <= local.time() < end:
            return to_utc(at)
        if local.time() >= start:
            day += _ONE_DAY
        day = self.working_day_on_or_after(day)
        return datetime.combine(day, start, tzinfo=self.tz).astimezone(UTC)

    @staticmethod
    def format_day(d: date) -> str:
        """A date as the emails write it: "Tuesday 29 December 2026"."""
        return f"{d:%A} {d.day} {d:%B %Y}"
