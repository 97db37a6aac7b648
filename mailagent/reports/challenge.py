"""The monthly challenge-meeting pack: the cases at stage 3 and 4 (Head of Service and above).

"This meeting discusses cases at stage 3 & 4 of the escalation process and gives
opportunity for challenge and senior leadership oversight" (Leicestershire). A case is in
the month's pack when it was at a senior stage (see `history.is_senior`) at any moment of
the month. Each case shows where it stands at the month's end (or now, for the current
month): still at a senior stage, or closed in the month, with its timescales, the IRO's
issue and the steps so far, each manager's reply shown in their own words (an excerpt).
Cases the IRO escalated to the meeting outside the escalation process ("where immediate
oversight is required", `#challenge-meeting`) are shown apart, with the IRO's reason, from
the month they were referred while they are open; every case shows whether independent
legal advice is being sought and where a CAFCASS referral stands.
Children appear by record number only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from mailagent.app import Agent
from mailagent.cases import timing as cases
from mailagent.mail.quotes import excerpt
from mailagent.private import make_private
from mailagent.reports import history
from mailagent.reports.history import CaseStory, local_day
from mailagent.reports.quarterly import (
    MONTHS,
    ReportProblem,
    category_label,
    iro_label,
    team_label,
)
from mailagent.store.models import Case

# How much of each reply the pack shows: enough to see what was promised.
EXCERPT_CHARS = 400


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text)
        if found is None or not 1 <= int(found.group(2)) <= 12:
            raise ReportProblem(f"not a month: {text!r}; write it as YYYY-MM, e.g. 2026-07")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def containing(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> date:
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def code(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{MONTHS[self.month - 1]} {self.year}"


@dataclass(frozen=True)
class Step:
    when: str
    what: str
    said: str = ""  # what the manager replied (or the IRO noted), as an excerpt


@dataclass(frozen=True)
class PackCase:
    """One case in the pack, as it stands at the end of the month."""

    ref: str
    child_ref: str
    plan: str
    team: str
    category: str
    iro: str
    raised: date
    stage: str
    senior_since: date | None
    status: str
    where: str  # where it stands, in words
    process: str  # the whole-process clock, in words
    process_over: bool
    cafcass: bool
    issue: str
    impact: str
    resolution_sought: str
    outcome: str
    learning: str
    steps: tuple[Step, ...]
    # Beside the ladder (as at the pack's end): referred for immediate oversight, legal
    # advice sought, a CAFCASS referral's conditions; each in words, "" if none.
    referred_on: date | None = None
    referred_reason: str = ""
    legal_advice: str = ""
    cafcass_words: str = ""


@dataclass(frozen=True)
class ChallengePack:
    month: Month
    council: str
    as_at: datetime
    as_at_text: str
    generated_at: datetime
    open_cases: tuple[PackCase, ...]
    closed_cases: tuple[PackCase, ...]
    # Escalated to the meeting outside the escalation process, shown apart.
    referred_cases: tuple[PackCase, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.open_cases or self.closed_cases or self.referred_cases)


def month_bounds(agent: Agent, month: Month) -> tuple[datetime, datetime]:
    tz = agent.calendar.tz
    return (datetime.combine(month.first_day, time(0), tzinfo=tz),
            datetime.combine(month.next_first_day, time(0), tzinfo=tz))


def build_pack(session: Session, agent: Agent, month: Month, now: datetime) -> ChallengePack:
    start, end = month_bounds(agent, month)
    if start > now:
        raise ReportProblem(f"{month.label} has not started yet")
    as_at = min(end, now)
    candidates = history.ladder_cases_open_during(session, start, end)
    events = history.events_by_case(session, history.ladder_open_during(start, end))
    open_cases, closed_cases, referred = [], [], []
    for case in candidates:
        ladder = _ladder(agent, case)
        story = history.read_story(case, events.get(case.id or 0, []), ladder, as_at)
        outside = case.oversight is not None and case.oversight.challenge_meeting_at is not None \
            and case.oversight.challenge_meeting_at < as_at
        if not outside and not story.senior_during(ladder, start, as_at):
            continue
        item = pack_case(agent, story, events.get(case.id or 0, []), as_at)
        group = referred if outside else open_cases if story.status == "open" else closed_cases
        group.append(item)
    return ChallengePack(
        month=month,
        council=agent.rules.ladders[agent.ladder_id].council,
        as_at=as_at,
        as_at_text=history.as_at_words(agent.calendar, as_at),
        generated_at=now,
        open_cases=tuple(open_cases),
        closed_cases=tuple(closed_cases),
        referred_cases=tuple(referred),
    )


def pack_case(agent: Agent, story: CaseStory, events: list[Any], as_at: datetime) -> PackCase:
    case, cal = story.case, agent.calendar
    ladder = _ladder(agent, case)
    current = story.current
    senior = [v for v in story.visits if history.is_senior(ladder, v.stage_id)]
    fields = case.fields
    process, over = _process_words(agent, story, as_at)
    return PackCase(
        ref=case.ref,
        child_ref=case.child_ref or "",
        plan=case.plan or "",
        team=team_label(agent, case),
        category=category_label(agent, case),
        iro=iro_label(agent, case.iro_email),
        raised=local_day(cal, case.opened_at),
        stage=current.name if current else "",
        senior_since=local_day(cal, senior[0].started_at) if senior else None,
        status=story.status,
        where=_where(agent, story, as_at),
        process=process,
        process_over=over,
        cafcass=story.cafcass,
        issue=str(fields.get("issue") or ""),
        impact=str(fields.get("impact") or ""),
        resolution_sought=str(fields.get("resolution_sought") or ""),
        outcome=(case.outcome or "") if story.status != "open" else "",
        learning=(case.learning or "") if story.status != "open" else "",
        steps=tuple(
            Step(when=_short(local_day(cal, e.at)), what=e.detail.get("summary", e.kind),
                 said=excerpt(str(e.detail.get("text") or ""), EXCERPT_CHARS))
            for e in events if e.at <= as_at and e.detail.get("summary")
        ),
        **beside_the_ladder(agent, case, as_at),
    )


def beside_the_ladder(agent: Agent, case: Case, as_at: datetime) -> dict[str, Any]:
    """The challenge-meeting referral, legal advice and CAFCASS, as they stood at `as_at`."""
    cal, found, cafcass = agent.calendar, case.oversight, case.cafcass

    def by(at: datetime | None) -> date | None:
        return local_day(cal, at) if at is not None and at <= as_at else None

    words: dict[str, Any] = {}
    if found is not None and by(found.challenge_meeting_at):
        words["referred_on"] = by(found.challenge_meeting_at)
        words["referred_reason"] = found.challenge_meeting_reason or ""
    if found is not None and (since := by(found.legal_advice_at)):
        words["legal_advice"] = (f"Independent legal advice being sought since {_short(since)}: "
                                 f"{found.legal_advice_from or ''}")
    if cafcass is not None and (considered := by(cafcass.considered_at)):
        parts = [f"Referral being considered since {_short(considered)}"]
        if cafcass.meeting_held_on and by(cafcass.meeting_recorded_at):
            parts.append(f"the meeting before it held on {_short(cafcass.meeting_held_on)}: "
                         f"{excerpt(cafcass.meeting_outcome or '', EXCERPT_CHARS)}")
        elif by(cafcass.meeting_asked_at):
            parts.append("the meeting before it not yet recorded as held")
        if referred := by(cafcass.referred_at):
            parts.append(f"referred on {_short(referred)}")
        words["cafcass_words"] = "; ".join(parts)
    return words


def _where(agent: Agent, story: CaseStory, as_at: datetime) -> str:
    cal, visit = agent.calendar, story.current
    if story.status != "open":
        closed = _short(local_day(cal, story.closed_at)) if story.closed_at else ""
        return f"{story.status.capitalize()} at {visit.name if visit else '?'} on {closed}"
    if visit is None:
        return "Open"
    if visit.paused:
        return f"At {visit.name}: clock paused"
    if visit.response_at is not None:
        return (f"At {visit.name}: response received "
                f"{_short(local_day(cal, visit.response_at))}; waiting for the IRO's decision")
    if visit.deadline is None:
        return f"At {visit.name}"
    last_day = cases.deadline_day(cal, visit.deadline)
    if as_at >= visit.deadline:
        days = cal.working_days_between(last_day, _last_day(cal, as_at))
        return (f"At {visit.name}: no response; due by end of {_short(last_day)}, "
                f"{days} working day{'s' if days != 1 else ''} overdue")
    return f"At {visit.name}: response due by end of {_short(last_day)}"


def _process_words(agent: Agent, story: CaseStory, as_at: datetime) -> tuple[str, bool]:
    case, cal = story.case, agent.calendar
    if case.process_started_at is None or case.process_deadline is None:
        return "", False
    end = story.closed_at or as_at
    taken = max(0, cal.working_days_between(cal.receipt_day(case.process_started_at),
                                            _last_day(cal, end)))
    limit_day = cases.deadline_day(cal, case.process_deadline)
    limit = cal.working_days_between(cal.receipt_day(case.process_started_at), limit_day)
    over = end >= case.process_deadline
    words = f"{taken} of {limit} working days (limit {_short(limit_day)})"
    return (words + ("; over the limit" if over else "")), over


def _last_day(cal: Any, end: datetime) -> date:
    """The local day an instant falls in, a midnight belonging to the day it ends."""
    return local_day(cal, end - timedelta(microseconds=1))


def _ladder(agent: Agent, case: Case) -> Any:
    return agent.rules.ladders.get(case.ladder_id or agent.ladder_id) or agent.rules.ladders[
        agent.ladder_id]


def _short(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


# -- writing -----------------------------------------------------------------------------


def pack_context(pack: ChallengePack) -> dict[str, Any]:
    return {"pack": pack, "day": lambda d: f"{d.day} {d:%b %Y}" if d else ""}


def render_pack(pack: ChallengePack, kind: str = "txt",
                templates_dir: Path | None = None) -> str:
    """The pack as text (for the terminal) or as HTML ("html")."""
    from mailagent.reports.render import SHIPPED, render_report

    return render_report(f"challenge_meeting.{kind}.j2", pack_context(pack),
                         templates_dir or SHIPPED)


def write_pack(pack: ChallengePack, path: Path, templates_dir: Path | None = None) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".txt"):
        raise ReportProblem(f"{path.name}: the pack is written as .html or .txt")
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = "txt" if suffix == ".txt" else "html"
    path.write_text(render_pack(pack, kind, templates_dir), encoding="utf-8")
    make_private(path)
