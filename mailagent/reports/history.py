"""A case's events read back into what the reports count: stage visits, responses, outcome.

The timeline (`CaseEvent` rows) is the record; this module only reads it. A *visit* is one
stay of a case at one stage, from its `stage` event to the next `stage` event or the close.
Its deadline is the one in force at the time (an `extended` or `resumed` event replaces it),
so a response is on time when it came before the deadline that applied then.

Everything is read "as at" an instant, so a report for a past period gives the same figures
whenever it is run: events after that instant are ignored.

Levels: an informal stage (Positive Challenge) is level 0; formal stages are numbered 1, 2,
3... in the ladder's order, so "level 3" is the third formal stage (Head of Service in the
shipped ladders). A stage is *senior* (for the challenge meeting and the daily summary's
"Head of Service and above") when the ladder flags it `challenge_meeting`; a ladder that
flags no stage at all counts level 3 and above as senior.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.policy.ladder import Ladder
from mailagent.policy.workdays import WorkingCalendar
from mailagent.store.models import LADDER_KINDS, Case, CaseEvent

INFORMAL_LEVEL = 0
_TICK = timedelta(microseconds=1)
SENIOR_LEVEL = 3

# How a stage visit's response compares with its deadline.
ON_TIME = "on_time"
LATE = "late"
NO_RESPONSE = "no_response"  # the deadline passed with no response
PENDING = "pending"  # still at the stage, deadline not yet passed (or the clock paused)
NOT_DUE = "not_due"  # left the stage before its deadline without a response

CLOSING_KINDS = ("resolved", "withdrawn")


def stage_level(ladder: Ladder, stage_id: str | None) -> int | None:
    """0 for an informal stage, 1.. for formal stages in ladder order; None if unknown."""
    if stage_id is None:
        return None
    formal = 0
    for stage in ladder.stages:
        if stage.formal:
            formal += 1
        if stage.id == stage_id:
            return formal if stage.formal else INFORMAL_LEVEL
    return None


def stage_name(ladder: Ladder, stage_id: str | None) -> str:
    if stage_id is None:
        return "(no stage)"
    try:
        return ladder.stage(stage_id).name
    except KeyError:
        return stage_id


def is_senior(ladder: Ladder, stage_id: str | None) -> bool:
    """Head of Service level and above: the stages the monthly challenge meeting discusses."""
    if stage_id is None:
        return False
    if any(stage.flags.challenge_meeting for stage in ladder.stages):
        try:
            return ladder.stage(stage_id).flags.challenge_meeting
        except KeyError:
            return False
    level = stage_level(ladder, stage_id)
    return level is not None and level >= SENIOR_LEVEL


def level_label(ladder: Ladder, level: int) -> str:
    """ "Level 3: Stage Three - Head of Service" (the ladder's own name for that level)."""
    for stage in ladder.stages:
        if stage_level(ladder, stage.id) == level:
            return f"Level {level}: {stage.name}"
    return f"Level {level}"


@dataclass(frozen=True)
class StageVisit:
    """One stay of a case at one stage."""

    stage_id: str
    level: int | None
    name: str
    started_at: datetime
    deadline: datetime | None
    ended_at: datetime | None
    response_at: datetime | None
    deadline_at_response: datetime | None
    paused: bool

    def timeliness(self, as_at: datetime) -> str:
        """ON_TIME, LATE, NO_RESPONSE, PENDING or NOT_DUE, as at `as_at`."""
        if self.response_at is not None:
            due = self.deadline_at_response
            return ON_TIME if due is None or self.response_at < due else LATE
        if self.paused:
            return PENDING if self.ended_at is None else NOT_DUE
        end = self.ended_at or as_at
        if self.deadline is not None and end >= self.deadline:
            return NO_RESPONSE
        return PENDING if self.ended_at is None else NOT_DUE


@dataclass(frozen=True)
class CaseStory:
    """What a case's timeline says, as at an instant."""

    case: Case
    visits: tuple[StageVisit, ...]
    status: str  # "open", "resolved" or "withdrawn"
    closed_at: datetime | None
    responses: tuple[datetime, ...]
    cafcass: bool
    process_breach: bool
    as_at: datetime  # the instant it was read as at

    @property
    def highest(self) -> StageVisit | None:
        """The visit at the highest level reached (the latest, if reached twice)."""
        ranked = [v for v in self.visits if v.level is not None]
        if not ranked:
            return None
        top = max(v.level for v in ranked if v.level is not None)
        return [v for v in ranked if v.level == top][-1]

    @property
    def current(self) -> StageVisit | None:
        return self.visits[-1] if self.visits else None

    @property
    def last_response_at(self) -> datetime | None:
        return self.responses[-1] if self.responses else None

    def senior_during(self, ladder: Ladder, start: datetime, end: datetime) -> bool:
        """Whether the case was at a senior stage at any moment in [start, end)."""
        for visit in self.visits:
            if not is_senior(ladder, visit.stage_id):
                continue
            left = visit.ended_at or self.closed_at
            if visit.started_at < end and (left is None or left > start):
                return True
        return False


def read_story(case: Case, events: Sequence[CaseEvent | sa.Row], ladder: Ladder,
               as_at: datetime) -> CaseStory:
    """Read `events` (the case's timeline, in order) up to `as_at`."""
    visits: list[dict] = []
    status, closed_at = "open", None
    responses: list[datetime] = []
    cafcass = breach = False
    for event in events:
        if event.at > as_at:
            break
        deadline = _instant(event.detail.get("deadline"))
        current = visits[-1] if visits else None
        if event.kind == "stage" and event.stage_id:
            if current is not None and current["ended_at"] is None:
                current["ended_at"] = event.at
            visits.append({
                "stage_id": event.stage_id, "started_at": event.at, "deadline": deadline,
                "ended_at": None, "response_at": None, "deadline_at_response": None,
                "paused": False,
            })
        elif current is None:
            continue
        elif event.kind == "response":
            responses.append(event.at)
            if current["response_at"] is None and current["ended_at"] is None:
                current["response_at"] = event.at
                current["deadline_at_response"] = current["deadline"]
        elif event.kind in ("extended", "resumed"):
            current["deadline"] = deadline or current["deadline"]
            current["paused"] = False
        elif event.kind == "paused":
            current["paused"] = True
        elif event.kind in CLOSING_KINDS and status == "open":
            status, closed_at = event.kind, event.at
            if current["ended_at"] is None:
                current["ended_at"] = event.at
        if event.kind == "cafcass":
            cafcass = True
        elif event.kind == "process_breach":
            breach = True
    return CaseStory(
        case=case,
        visits=tuple(
            StageVisit(level=stage_level(ladder, v["stage_id"]),
                       name=stage_name(ladder, v["stage_id"]), **v)
            for v in visits
        ),
        status=status,
        closed_at=closed_at,
        responses=tuple(responses),
        cafcass=cafcass,
        process_breach=breach,
        as_at=as_at,
    )


# What `read_story` and the reports read of an event: read as plain rows, not ORM objects,
# since a report reads every event of tens of thousands of cases.
_EVENT_COLUMNS = ("case_id", "at", "kind", "stage_id", "detail")


def events_by_case(session: Session, cases: sa.Select) -> dict[int, list[sa.Row]]:
    """Each case's events in the order they happened, for the cases `cases` (a query of
    case ids) finds. The ids are a subquery, never a list of values: a list of a hundred
    thousand ids passes PostgreSQL's limit of 65,535 parameters."""
    table = CaseEvent.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(*(table.c[name] for name in _EVENT_COLUMNS))
        .where(table.c.case_id.in_(cases.scalar_subquery()))
        .order_by(table.c.at, table.c.id)
    )
    found: dict[int, list[sa.Row]] = defaultdict(list)
    for event in session.execute(query):
        found[event.case_id].append(event)
    return found


def opened_between(start: datetime, end: datetime, kinds: Sequence[str]) -> sa.Select:
    """The ids of cases of `kinds` opened in [start, end)."""
    return select(Case.id).where(Case.opened_at >= start, Case.opened_at < end,
                                 Case.kind.in_(list(kinds)))  # type: ignore[attr-defined]


def cases_opened_between(session: Session, start: datetime, end: datetime,
                         kinds: Sequence[str]) -> list[Case]:
    """Cases of `kinds` opened in [start, end), oldest first."""
    query = (
        select(Case)
        .where(opened_between(start, end, kinds).whereclause)
        .order_by(Case.opened_at, Case.id)  # type: ignore[arg-type]
    )
    return list(session.exec(query))


def ladder_open_during(start: datetime, end: datetime) -> sa.Select:
    """The ids of escalations and challenges opened before `end` and not closed before
    `start`."""
    return select(Case.id).where(
        Case.opened_at < end, Case.kind.in_(list(LADDER_KINDS)),  # type: ignore[attr-defined]
        sa.or_(Case.closed_at.is_(None), Case.closed_at >= start))  # type: ignore[union-attr]


def ladder_cases_open_during(session: Session, start: datetime, end: datetime) -> list[Case]:
    """Escalations and challenges opened before `end` and not closed before `start`."""
    query = (
        select(Case)
        .where(ladder_open_during(start, end).whereclause)
        .order_by(Case.opened_at, Case.id)  # type: ignore[arg-type]
    )
    return list(session.exec(query))


def local_day(calendar: WorkingCalendar, at: datetime) -> date:
    return at.astimezone(calendar.tz).date()


def as_at_words(calendar: WorkingCalendar, as_at: datetime) -> str:
    """ "the end of Wednesday 30 September 2026" for a local midnight, else day and time."""
    local = as_at.astimezone(calendar.tz)
    if local.time() == datetime.min.time():
        return "the end of " + calendar.format_day(local_day(calendar, as_at - _TICK))
    return f"{calendar.format_day(local.date())} {local:%H:%M}"


def working_days_taken(calendar: WorkingCalendar, opened_at: datetime,
                       closed_at: datetime) -> int:
    """Working days from the day a case was raised (day 0) to the day it closed."""
    return max(0, calendar.working_days_between(calendar.receipt_day(opened_at),
                                                local_day(calendar, closed_at)))


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
