"""The quarterly report: themes and timescales for senior managers and the Corporate
Parenting Board, and the case list the Brent spreadsheet kept by hand.

Scope: escalations and positive challenges *raised* in the quarter, each as it stood at the
quarter's end (or now, for the current quarter), so a past quarter's figures never change.
Commendations are those raised in the quarter; collective alerts, every one open at some
moment of it (`quarterly_alerts`: the update for CSMT and the Corporate Parenting Board).

Figures (`quarterly_figures`), each for all cases and split by plan type (LAC / CP), as the
IROs' annual reports give them:
- counts by category, team, IRO and highest level reached, each split into resolved,
  withdrawn and still open; resolution rate = resolved / raised;
- working days from the day raised (day 0) to the day resolved, for resolved cases:
  median, and 90th percentile by the nearest-rank method (the smallest value with at
  least 90% of cases at or below it);
- responses per level: each stage visit whose response came (on time or late, against the
  deadline in force then, extensions included) or whose deadline passed with none.

`build_quarterly` makes the data; `mailagent.reports.quarterly_files` writes it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session

from mailagent.app import Agent
from mailagent.cases.notify import KIND_LABELS
from mailagent.reports import history
from mailagent.reports.history import CaseStory, level_label, local_day
from mailagent.reports.quarterly_alerts import AlertProgress, alerts_during
from mailagent.reports.quarterly_figures import (
    Breakdown,
    LevelResponses,
    PlanFigures,
    breakdown,
    plan_figures,
    plan_of,
    plans_in,
    responses,
)
from mailagent.store.models import LADDER_KINDS, Case

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


STATUS_LABELS = {"resolved": "Resolved", "withdrawn": "Withdrawn", "open": "Open"}


class ReportProblem(ValueError):
    """A report was asked for in a way that cannot work; the message says why."""


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """ "2026Q3" (also "2026-Q3", "2026q3")."""
        found = re.fullmatch(r"\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*", text)
        if found is None:
            raise ReportProblem(f"not a quarter: {text!r}; write it as YYYYQn, e.g. 2026Q3")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year, self.number - 1) if self.number > 1 else Quarter(
            self.year - 1, 4)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def next_first_day(self) -> date:
        return Quarter(self.year + 1, 1).first_day if self.number == 4 else Quarter(
            self.year, self.number + 1).first_day

    @property
    def code(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def label(self) -> str:
        first, last = MONTHS[3 * self.number - 3], MONTHS[3 * self.number - 1]
        return f"Quarter {self.number} {self.year} ({first} to {last})"


@dataclass(frozen=True)
class CaseRow:
    """One case, as a line of the Brent spreadsheet (child, matter, date raised, level,
    date of response, resolution) and a little more."""

    ref: str
    child_ref: str
    plan: str
    kind: str
    team: str
    iro: str
    category: str
    matter: str
    date_raised: date
    level: int | None
    level_name: str
    date_of_response: date | None
    status: str  # "resolved", "withdrawn" or "open", at the end of the period
    closed_level_name: str
    date_closed: date | None
    working_days: int | None
    outcome: str
    learning: str
    team_learning: str = ""  # the social work team's key learning points (QA policy)
    tracked_on: date | None = None  # first at a stage the tracking record starts at
    tracking_acknowledged: date | None = None  # by the keeper of the tracking record

    @property
    def resolution(self) -> str:
        if self.status == "open":
            return "Open"
        return f"{STATUS_LABELS[self.status]} at {self.closed_level_name}"


# The case list's columns: (title, CaseRow attribute), the Brent spreadsheet's first.
CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Reference", "ref"),
    ("Child record number", "child_ref"),
    ("Plan", "plan"),
    ("Type", "kind"),
    ("Team", "team"),
    ("IRO", "iro"),
    ("Category", "category"),
    ("Matter", "matter"),
    ("Date raised", "date_raised"),
    ("Highest level reached", "level_name"),
    ("Date of response", "date_of_response"),
    ("Resolution", "resolution"),
    ("Date closed", "date_closed"),
    ("Working days to resolution", "working_days"),
    ("Outcome", "outcome"),
    ("Learning", "learning"),
    ("Team's learning", "team_learning"),
)


def case_columns(ladder: Any) -> tuple[tuple[str, str], ...]:
    """The case list's columns for a ladder: with a `[tracking]` record (Brent's
    spreadsheet), the date the dispute reached its first tracked stage and the date its
    keeper acknowledged it, after the date raised."""
    if ladder.tracking is None:
        return CASE_COLUMNS
    first = ladder.stage(ladder.tracking.stages[0]).name
    keeper = ladder.tracking.by.replace("_", " ")
    extra = (("Date raised with the " + first, "tracked_on"),
             (f"Acknowledged ({keeper})", "tracking_acknowledged"))
    at = [title for title, _ in CASE_COLUMNS].index("Date raised") + 1
    return CASE_COLUMNS[:at] + extra + CASE_COLUMNS[at:]


@dataclass(frozen=True)
class OtherCase:
    """A commendation raised in the period."""

    ref: str
    raised: date
    team: str
    iro: str
    title: str
    status: str


@dataclass(frozen=True)
class LevelClosed:
    """How many cases were resolved at a level, in all and per plan type (`plans` order)."""

    label: str
    resolved: int
    plans: tuple[int, ...]


@dataclass(frozen=True)
class QuarterlyReport:
    quarter: Quarter
    council: str
    generated_at: datetime
    as_at: datetime
    as_at_text: str
    rows: tuple[CaseRow, ...]
    plans: tuple[str, ...]  # the plan types every figure is split by
    figures: tuple[PlanFigures, ...]  # the headline figures: all cases, then each plan type
    by_category: tuple[Breakdown, ...]
    by_team: tuple[Breakdown, ...]
    by_iro: tuple[Breakdown, ...]
    by_level: tuple[Breakdown, ...]
    resolved_at_level: tuple[LevelClosed, ...]
    responses: tuple[LevelResponses, ...]
    commendations: tuple[OtherCase, ...]
    alerts: tuple[AlertProgress, ...]
    columns: tuple[tuple[str, str], ...] = CASE_COLUMNS  # the case list's (title, attribute)

    @property
    def whole(self) -> PlanFigures:
        return self.figures[0]

    @property
    def raised(self) -> int:
        return len(self.rows)

    def count(self, status: str) -> int:
        return sum(row.status == status for row in self.rows)

    @property
    def resolution_rate(self) -> float | None:
        return self.whole.rate

    @property
    def days_to_resolution(self) -> tuple[int, ...]:
        return self.whole.days_to_resolution

    @property
    def days_median(self) -> float | None:
        return self.whole.days_median

    @property
    def days_p90(self) -> int | None:
        return self.whole.days_p90

    @property
    def alerts_raised(self) -> int:
        """Collective alerts drafted in the quarter."""
        return sum(a.raised_in_period for a in self.alerts)


def quarter_bounds(agent: Agent, quarter: Quarter) -> tuple[datetime, datetime]:
    """The quarter as instants: local midnight of its first day, and of the day after."""
    tz = agent.calendar.tz
    return (datetime.combine(quarter.first_day, time(0), tzinfo=tz),
            datetime.combine(quarter.next_first_day, time(0), tzinfo=tz))


def build_quarterly(session: Session, agent: Agent, quarter: Quarter,
                    now: datetime) -> QuarterlyReport:
    """Read the quarter's cases and count them."""
    start, end = quarter_bounds(agent, quarter)
    if start > now:
        raise ReportProblem(f"{quarter.code} has not started yet")
    as_at = min(end, now)
    found = history.cases_opened_between(session, start, end, LADDER_KINDS)
    events = history.events_by_case(session, history.opened_between(start, end, LADDER_KINDS))
    stories = [history.read_story(case, events.get(case.id or 0, []),
                                  _ladder(agent, case), as_at) for case in found]
    rows = [case_row(agent, story) for story in stories]
    ladder = agent.rules.ladders[agent.ladder_id]
    plans = plans_in(rows, ladder.plan_types)
    levels = responses(stories, ladder, as_at, plans)
    return QuarterlyReport(
        quarter=quarter,
        council=ladder.council,
        generated_at=now,
        as_at=as_at,
        as_at_text=history.as_at_words(agent.calendar, as_at),
        rows=tuple(rows),
        plans=plans,
        figures=plan_figures(rows, levels, plans),
        by_category=breakdown(rows, lambda r: r.category, plans),
        by_team=breakdown(rows, lambda r: r.team, plans),
        by_iro=breakdown(rows, lambda r: r.iro, plans),
        by_level=breakdown(rows, lambda r: r.level_name, plans, order=_level_order(rows)),
        resolved_at_level=_resolved_at_level(stories, ladder, plans),
        responses=levels,
        commendations=_others(session, agent, start, end, "commendation"),
        alerts=alerts_during(session, agent, start, end, as_at),
        columns=case_columns(ladder),
    )


def _resolved_at_level(stories: list[CaseStory], ladder: Any,
                       plans: tuple[str, ...]) -> tuple[LevelClosed, ...]:
    closing = Counter((_closing_level(s), plan_of(s.case)) for s in stories
                      if s.status == "resolved")
    levels = sorted({level for level, _ in closing if level is not None})
    return tuple(
        LevelClosed(label=level_label(ladder, level),
                    resolved=sum(n for (lv, _), n in closing.items() if lv == level),
                    plans=tuple(closing[(level, p)] for p in plans))
        for level in levels
    )


def case_row(agent: Agent, story: CaseStory) -> CaseRow:
    case, cal = story.case, agent.calendar
    ladder = agent.rules.ladders[agent.ladder_id]
    top = story.highest
    closing = story.current if story.status != "open" else None
    working_days = None
    if story.status == "resolved" and story.closed_at is not None:
        working_days = history.working_days_taken(cal, case.opened_at, story.closed_at)
    last_response = story.last_response_at
    tracking = agent.rules.ladders[agent.ladder_id].tracking
    tracked = [v for v in story.visits if tracking and v.stage_id in tracking.stages]
    acknowledged = case.tracking.acknowledged_at if case.tracking else None
    return CaseRow(
        ref=case.ref,
        child_ref=case.child_ref or "",
        plan=case.plan or "",
        kind=KIND_LABELS.get(case.kind, case.kind.title()),
        team=team_label(agent, case),
        iro=iro_label(agent, case.iro_email),
        category=category_label(agent, case),
        matter=str(case.fields.get("issue") or ""),
        date_raised=local_day(cal, case.opened_at),
        level=top.level if top else None,
        level_name=level_label(ladder, top.level) if top and top.level is not None else "",
        date_of_response=local_day(cal, last_response) if last_response else None,
        status=story.status,
        closed_level_name=closing.name if closing else "",
        date_closed=local_day(cal, story.closed_at) if story.closed_at else None,
        working_days=working_days,
        outcome=case.outcome or "" if story.status != "open" else "",
        learning=case.learning or "" if story.status != "open" else "",
        team_learning=case.team_learning or "" if case.team_learning_at and (
            case.team_learning_at <= story.as_at) else "",
        tracked_on=local_day(cal, tracked[0].started_at) if tracked else None,
        tracking_acknowledged=local_day(cal, acknowledged)
        if acknowledged and acknowledged <= story.as_at else None,
    )


def team_label(agent: Agent, case: Case) -> str:
    if case.fields.get("team_name"):
        return str(case.fields["team_name"])
    if case.team and case.team in agent.directory.teams():
        return agent.directory.team_name(case.team)
    return case.team or "(no team)"


def iro_label(agent: Agent, email: str) -> str:
    person = agent.directory.person_by_email(email)
    return person.name if person else email


def category_label(agent: Agent, case: Case) -> str:
    if case.fields.get("category_label"):
        return str(case.fields["category_label"])
    if case.category:
        try:
            return agent.vocabulary.category(case.category).label
        except KeyError:
            return case.category
    return "(no category)"


def _ladder(agent: Agent, case: Case) -> Any:
    return agent.rules.ladders.get(case.ladder_id or agent.ladder_id) or agent.rules.ladders[
        agent.ladder_id]


def _closing_level(story: CaseStory) -> int | None:
    return story.current.level if story.current else None


def _level_order(rows: list[CaseRow]) -> list[str]:
    ranked = sorted({(r.level if r.level is not None else 99, r.level_name) for r in rows})
    return [name for _, name in ranked]


def _others(session: Session, agent: Agent, start: datetime, end: datetime,
            kind: str) -> tuple[OtherCase, ...]:
    found = history.cases_opened_between(session, start, end, [kind])
    return tuple(
        OtherCase(
            ref=case.ref,
            raised=local_day(agent.calendar, case.opened_at),
            team=team_label(agent, case) if (case.team or case.fields.get("team_name")) else "",
            iro=iro_label(agent, case.iro_email),
            title=str(case.fields.get("theme") or case.fields.get("title")
                      or case.fields.get("summary") or ""),
            status=case.status,
        )
        for case in found
    )
