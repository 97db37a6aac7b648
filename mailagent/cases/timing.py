"""The case clock, as pure functions: when a stage is due, when to remind, what is due now.

Nothing here touches the database or sends mail; `engine` applies what these decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mailagent.policy.ladder import Ladder, Stage
from mailagent.policy.workdays import WorkingCalendar

AWAITING_RESPONSE = "awaiting_response"
AWAITING_DECISION = "awaiting_decision"
OVERDUE = "overdue"
PAUSED = "paused"

_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StageTiming:
    started_at: datetime
    deadline: datetime
    working_days: int


def stage_timing(
    calendar: WorkingCalendar,
    stage: Stage,
    start: datetime,
    *,
    requested_days: int | None = None,
    respond_by: date | None = None,
) -> StageTiming:
    """A stage's deadline from `start`: its timescale, or the IRO's shorter one."""
    if requested_days is not None and stage.iro_sets_timescale:
        days = stage.timescale(min(requested_days, stage.max_working_days or requested_days))
    else:
        days = stage.timescale()
        if requested_days is not None:
            days = min(days, requested_days)
    deadline = calendar.deadline(start, days)
    if respond_by is not None:
        earlier = calendar.end_of_day(respond_by)
        if earlier < deadline:
            deadline = earlier
            days = calendar.working_days_between(calendar.receipt_day(start), respond_by)
    return StageTiming(started_at=start, deadline=deadline, working_days=days)


def deadline_day(calendar: WorkingCalendar, deadline: datetime) -> date:
    """The last day of a deadline that ends at its local midnight."""
    return (deadline - timedelta(microseconds=1)).astimezone(calendar.tz).date()


def reminder_at(
    calendar: WorkingCalendar, ladder: Ladder, started_at: datetime, deadline: datetime
) -> datetime | None:
    """When the addressee is reminded: the start of working hours, N working days before."""
    before = ladder.reminder_working_days_before
    if before == 0:
        return None
    day = calendar.add_working_days(deadline_day(calendar, deadline), -before)
    if day <= calendar.receipt_day(started_at):
        return None  # the timescale is too short for a reminder to help
    return calendar.next_sending_time(
        datetime.combine(day, calendar.working_hours[0], tzinfo=calendar.tz)
    )


def working_days_left(calendar: WorkingCalendar, deadline: datetime, now: datetime) -> int:
    """Whole working days left before a deadline (0 once its last day has begun)."""
    return max(
        0,
        calendar.working_days_between(calendar.receipt_day(now), deadline_day(calendar, deadline)),
    )


@dataclass(frozen=True)
class CaseClock:
    """The parts of a case the clock reads."""

    status: str
    stage_state: str | None
    stage_started_at: datetime | None
    stage_deadline: datetime | None
    decision_due: datetime | None
    process_deadline: datetime | None
    process_breach_flagged: bool = False


def due_now(
    clock: CaseClock, ladder: Ladder, calendar: WorkingCalendar, now: datetime
) -> list[str]:
    """The time-driven steps due for a case at `now` (the engine makes each happen once).

    A pause stops the stage's clock only: the whole process is still measured, because
    the child's time does not stop while a hearing is awaited.
    """
    if clock.status != "open":
        return []
    due: list[str] = []
    if clock.stage_state == AWAITING_RESPONSE and clock.stage_deadline is not None:
        if now >= clock.stage_deadline:
            due.append("timeout")
        else:
            remind = reminder_at(
                calendar, ladder, clock.stage_started_at or now, clock.stage_deadline
            )
            if remind is not None and now >= remind:
                due.append("reminder")
    decision_due = clock.decision_due
    if clock.stage_state == AWAITING_DECISION and decision_due and now >= decision_due:
        due.append("decision_reminder")
    process_deadline = clock.process_deadline
    if process_deadline and now >= process_deadline and not clock.process_breach_flagged:
        due.append("process_breach")
    return due


def next_due(
    clock: CaseClock, ladder: Ladder, calendar: WorkingCalendar, *, reminded: bool
) -> datetime | None:
    """The earliest instant at which `due_now` can name a step for this case as it stands
    (`reminded`: the reminder for this deadline is already queued); None if none ever can.

    Never later than the truth: the sweep looks at a case only from this instant on.
    """
    if clock.status != "open":
        return None
    times: list[datetime] = []
    if clock.stage_state == AWAITING_RESPONSE and clock.stage_deadline is not None:
        times.append(clock.stage_deadline)
        if not reminded:
            # A stage with no start recorded may be reminded whenever it started: the
            # earliest such reminder is the one counted from long ago.
            started = clock.stage_started_at or _LONG_AGO
            remind = reminder_at(calendar, ladder, started, clock.stage_deadline)
            if remind is not None:
                times.append(remind)
    if clock.stage_state == AWAITING_DECISION and clock.decision_due:
        times.append(clock.decision_due)
    if clock.process_deadline and not clock.process_breach_flagged:
        times.append(clock.process_deadline)
    return min(times, default=None)
