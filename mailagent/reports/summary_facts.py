"""The daily summary's facts: the queries behind each section, as lines that name a case by
its reference and the child by record number only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.app import Agent
from mailagent.cases import timing as cases
from mailagent.cases.notify import deadline_words
from mailagent.reports.history import is_senior, local_day, stage_name
from mailagent.store.models import (
    LADDER_KINDS,
    CafcassReferral,
    Case,
    CaseEvent,
    CaseOversight,
    TrackingRecord,
)


@dataclass(frozen=True)
class Line:
    """One line of a section: a case (by reference) and what there is to say about it."""

    ref: str
    note: str
    child_ref: str = ""
    stage: str = ""
    team: str = ""
    iro: str = ""


_CASE = Case.__table__  # type: ignore[attr-defined]
# What the lines say of a case; the team's name is read out of the JSON in the database.
_COLUMNS = (*(_CASE.c[name] for name in (
    "id", "ref", "child_ref", "ladder_id", "stage_id", "stage_state", "team", "iro_email",
    "status", "outcome", "opened_at", "closed_at", "stage_started_at", "stage_deadline",
    "decision_due", "process_deadline")),
    _CASE.c.fields["team_name"].as_string().label("team_name"))


class Facts:
    """The queries behind each section; every method returns the section's lines."""

    def __init__(self, session: Session, agent: Agent, now: datetime,
                 for_iro: str | None) -> None:
        self.session, self.agent, self.now, self.for_iro = session, agent, now, for_iro
        self.cal = agent.calendar
        self.open: list[Any] = [c for c in self._rows(
            _CASE.c.status == "open", _CASE.c.kind.in_(LADDER_KINDS), order=_CASE.c.opened_at)
            if self._mine(c)]
        self._names: dict[tuple[str | None, str | None], str] = {}

    def _rows(self, *where: Any, order: Any) -> sa.Result:
        """Plain rows of the columns the lines show, not ORM objects: a council may have
        tens of thousands of cases open."""
        return self.session.execute(sa.select(*_COLUMNS).where(*where)
                                    .order_by(order, _CASE.c.id))

    def _mine(self, case: Case) -> bool:
        return self.for_iro is None or case.iro_email == self.for_iro.lower()

    def _line(self, case: Any, note: str) -> Line:
        return Line(
            ref=case.ref,
            note=note,
            child_ref=case.child_ref or "",
            stage=self._stage_name(case.ladder_id, case.stage_id) if case.stage_id else "",
            team=case.team_name or case.team or "",
            iro=self._iro_name(case.iro_email),
        )

    def _stage_name(self, ladder_id: str | None, stage_id: str | None) -> str:
        key = (ladder_id, stage_id)
        if key not in self._names:
            ladder = self.agent.rules.ladders.get(ladder_id or self.agent.ladder_id)
            self._names[key] = stage_name(ladder, stage_id) if ladder else stage_id or ""
        return self._names[key]

    def _iro_name(self, email: str) -> str:
        key = (None, email)
        if key not in self._names:
            iro = self.agent.directory.person_by_email(email)
            self._names[key] = iro.name if iro else email
        return self._names[key]

    def _waiting(self) -> list[Case]:
        return [c for c in self.open if c.stage_deadline is not None
                and c.stage_state in (cases.AWAITING_RESPONSE, cases.OVERDUE)]

    def overdue(self) -> tuple[Line, ...]:
        today = local_day(self.cal, self.now)
        found = []
        for case in self._waiting():
            assert case.stage_deadline is not None
            if self.now < case.stage_deadline:
                continue
            last_day = cases.deadline_day(self.cal, case.stage_deadline)
            days = self.cal.working_days_between(last_day, today)
            late = f"{days} working day{'s' if days != 1 else ''} overdue" if days else "overdue"
            found.append((days, self._line(case, f"{late} (due by end of {short_day(last_day)})")))
        return tuple(line for _, line in sorted(found, key=lambda item: -item[0]))

    def due_on(self, day: date) -> tuple[Line, ...]:
        return tuple(
            self._line(case, f"response due by end of {short_day(day)}")
            for case in self._waiting()
            if case.stage_deadline is not None and self.now < case.stage_deadline
            and cases.deadline_day(self.cal, case.stage_deadline) == day
        )

    def _last_responses(self) -> dict[int, Any]:
        """Each open case awaiting a decision: its latest response event, in one query."""
        table = CaseEvent.__table__  # type: ignore[attr-defined]
        waiting = select(Case.id).where(
            Case.status == "open", Case.stage_state == cases.AWAITING_DECISION,
            Case.kind.in_(LADDER_KINDS))  # type: ignore[attr-defined]
        rows = self.session.execute(
            sa.select(table.c.case_id, table.c.at, table.c.detail)
            .where(table.c.kind == "response", table.c.case_id.in_(waiting.scalar_subquery()))
            .order_by(table.c.at, table.c.id))
        return {row.case_id: row for row in rows}  # the latest of each case wins

    def awaiting_decision(self) -> tuple[Line, ...]:
        lines = []
        latest = self._last_responses()
        for case in self.open:
            if case.stage_state != cases.AWAITING_DECISION:
                continue
            response = latest.get(case.id)
            said = ""
            if response is not None:
                who = response.detail.get("summary", "").removeprefix("Response from ")
                said = f"response from {who} on {short_day(local_day(self.cal, response.at))}"
            due = (f"decision due by end of {deadline_words(self.agent, case.decision_due)[1]}"
                   if case.decision_due else "IRO reminded to decide")
            lines.append(self._line(case, "; ".join(p for p in (said, due) if p)))
        return tuple(lines)

    def process_breaches(self) -> tuple[Line, ...]:
        today = local_day(self.cal, self.now)
        lines = []
        for case in self.open:
            if case.process_deadline is None or self.now < case.process_deadline:
                continue
            last_day = cases.deadline_day(self.cal, case.process_deadline)
            days = self.cal.working_days_between(last_day, today)
            over = f"{days} working day{'s' if days != 1 else ''} over" if days else "over"
            lines.append(self._line(
                case, f"whole process {over} (limit ended {short_day(last_day)})"))
        return tuple(lines)

    def senior(self) -> tuple[Line, ...]:
        lines = []
        senior: dict[tuple[str | None, str | None], bool] = {}
        for case in self.open:
            key = (case.ladder_id, case.stage_id)
            if key not in senior:
                ladder = self.agent.rules.ladders.get(case.ladder_id or self.agent.ladder_id)
                senior[key] = ladder is not None and is_senior(ladder, case.stage_id)
            if not senior[key]:
                continue
            since = (f"since {short_day(local_day(self.cal, case.stage_started_at))}"
                     if case.stage_started_at else "")
            state = {
                cases.AWAITING_RESPONSE: "response due by end of "
                + deadline_words(self.agent, case.stage_deadline)[1],
                cases.AWAITING_DECISION: "waiting for the IRO's decision",
                cases.OVERDUE: "response overdue",
                cases.PAUSED: "paused",
            }.get(case.stage_state or "", case.stage_state or "")
            lines.append(self._line(case, "; ".join(p for p in (since, state) if p)))
        return tuple(lines)

    def oversight(self) -> tuple[Line, ...]:
        """Cases with oversight beside the ladder: on the challenge meeting, independent
        legal advice sought, a CAFCASS referral considered or made, a tracking record not
        yet acknowledged."""
        over, caf, track = (m.__table__ for m in (  # type: ignore[attr-defined]
            CaseOversight, CafcassReferral, TrackingRecord))
        query = (
            sa.select(*_COLUMNS, over.c.challenge_meeting_at, over.c.legal_advice_at,
                      caf.c.referred_at, caf.c.considered_at, caf.c.meeting_held_on,
                      caf.c.meeting_asked_at, track.c.asked_at, track.c.acknowledged_at,
                      (over.c.case_id.is_not(None)).label("has_oversight"),
                      (caf.c.case_id.is_not(None)).label("has_cafcass"),
                      (track.c.case_id.is_not(None)).label("has_tracking"))
            .select_from(_CASE.outerjoin(over, over.c.case_id == _CASE.c.id)
                         .outerjoin(caf, caf.c.case_id == _CASE.c.id)
                         .outerjoin(track, track.c.case_id == _CASE.c.id))
            .where(_CASE.c.status == "open", _CASE.c.kind.in_(LADDER_KINDS),
                   sa.or_(over.c.case_id.is_not(None), caf.c.case_id.is_not(None),
                          track.c.case_id.is_not(None)))
            .order_by(_CASE.c.opened_at, _CASE.c.id))
        lines = []
        for case in self.session.execute(query):
            if not self._mine(case):
                continue
            notes = []
            found = case if case.has_oversight else None
            cafcass = case if case.has_cafcass else None
            tracked = case if case.has_tracking else None
            if found is not None and found.challenge_meeting_at is not None:
                notes.append("on the challenge meeting since "
                             + short_day(local_day(self.cal, found.challenge_meeting_at)))
            if found is not None and found.legal_advice_at is not None:
                notes.append("independent legal advice sought since "
                             + short_day(local_day(self.cal, found.legal_advice_at)))
            if cafcass is not None and cafcass.referred_at is not None:
                notes.append("referred to CAFCASS "
                             + short_day(local_day(self.cal, cafcass.referred_at)))
            elif cafcass is not None and cafcass.considered_at is not None:
                meeting = (f", meeting held {short_day(cafcass.meeting_held_on)}"
                           if cafcass.meeting_held_on else
                           ", meeting not yet recorded" if cafcass.meeting_asked_at else "")
                notes.append("CAFCASS referral being considered since "
                             f"{short_day(local_day(self.cal, cafcass.considered_at))}{meeting}")
            if tracked is not None and tracked.acknowledged_at is None:
                notes.append("not yet acknowledged for the tracking record (asked "
                             f"{short_day(local_day(self.cal, tracked.asked_at))})")
            if notes:
                lines.append(self._line(case, "; ".join(notes)))
        return tuple(lines)

    def opened_since(self, since: datetime) -> tuple[Line, ...]:
        query = self._rows(_CASE.c.opened_at >= since, _CASE.c.opened_at < self.now,
                           _CASE.c.kind.in_(LADDER_KINDS), order=_CASE.c.opened_at)
        return tuple(
            self._line(case, f"opened {_when(self.cal, case.opened_at)}; "
                       f"response due by end of "
                       f"{deadline_words(self.agent, case.stage_deadline)[1]}")
            for case in query if self._mine(case)
        )

    def closed_since(self, since: datetime) -> tuple[Line, ...]:
        query = self._rows(_CASE.c.closed_at >= since, _CASE.c.closed_at < self.now,
                           _CASE.c.kind.in_(LADDER_KINDS), order=_CASE.c.closed_at)
        return tuple(
            self._line(case, f"{case.status} {_when(self.cal, case.closed_at)}"
                       + ("" if case.status != "resolved" or case.outcome
                          else "; outcome not yet recorded"))
            for case in query if self._mine(case) and case.closed_at
        )

    def commendations_since(self, since: datetime) -> tuple[Line, ...]:
        query = self._rows(_CASE.c.opened_at >= since, _CASE.c.opened_at < self.now,
                           _CASE.c.kind == "commendation", order=_CASE.c.opened_at)
        return tuple(
            self._line(case, f"good practice recognised {_when(self.cal, case.opened_at)}")
            for case in query if self._mine(case)
        )


def from_collective(items: Sequence[Any], agent: Agent) -> tuple[Line, ...]:
    """Lines for open collective alerts or suggested themes."""
    return tuple(_external_line(agent, item) for item in items)


def _external_line(agent: Agent, item: Any) -> Line:
    """A line for an open collective alert (a dict from `themes.open_alerts`: ref, theme,
    state, state_words, linked, comments_due, raise_on, ack_due, response_due,
    next_followup, overdue_words) or a suggested theme (team, category,
    case_refs); anything else is shown by its `ref` and its words, or as a string."""
    if isinstance(item, str):
        return Line(ref="", note=item)

    def get(key: str) -> Any:
        return item.get(key) if isinstance(item, dict) else getattr(item, key, None)

    if get("case_refs") is not None and get("category") is not None:
        return _theme_line(agent, get("team"), get("category"), list(get("case_refs")))
    parts = [str(words) for words in (get("theme") or get("title") or get("summary")
                                      or get("text"),) if words]
    if get("state"):
        parts.append(get("state_words") or str(get("state")).replace("_", " "))
    for key, words in (("comments_due", "comments due by end of"),
                       ("raise_on", "to be raised on"),
                       ("ack_due", "acknowledgment due by end of"),
                       ("response_due", "response due by end of"),
                       ("next_followup", "next follow-up")):
        if get(key):
            parts.append(f"{words} {_day_words(get(key))}")
    if get("overdue_words"):
        parts.append(f"OVERDUE: {'; '.join(get('overdue_words'))}")
    if get("linked"):
        parts.append(f"{len(get('linked'))} linked case(s): {', '.join(get('linked'))}")
    return Line(ref=str(get("ref") or ""), note="; ".join(parts))


def _theme_line(agent: Agent, team: Any, category: Any, refs: list[str]) -> Line:
    team_text = str(team or "")
    if team_text in agent.directory.teams():
        team_text = agent.directory.team_name(team_text)
    try:
        category_text = agent.vocabulary.category(str(category)).label
    except KeyError:
        category_text = str(category)
    return Line(ref="", team=team_text,
                note=f"{category_text} in {team_text}: {len(refs)} open cases "
                     f"({', '.join(refs)}); consider a collective alert")


def _day_words(value: Any) -> str:
    try:
        return short_day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def short_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _when(cal: Any, at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(cal.tz)
    return f"{short_day(local.date())} {local:%H:%M}"
