"""The daily summary email to the IRO team manager (and, if configured, each IRO).

At the configured local time on working days: what is due today and on the next working
day, what is overdue and by how many working days, responses waiting for an IRO's decision,
whole-process clocks over their limit, cases at Head of Service level and above, and what
happened since the last summary (new cases, resolutions, commendations), with collective
alerts and suggested themes when `mailagent.cases.collective` provides them.

`build_summary` reads the database into a `DailySummary` (plain data); `render_summary`
turns it into the email (templates `daily_summary.txt.j2` and `.html.j2`); and
`send_daily_summary` queues it in the outbox, once per day. Children appear by record
number only, never by name, and no free text an IRO wrote is copied into it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import formataddr
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.app import Agent
from mailagent.cases import collective
from mailagent.cases import timing as cases
from mailagent.cases.notify import deadline_words
from mailagent.config import SummarySettings
from mailagent.mail.render import Rendered
from mailagent.policy.directory import Person
from mailagent.reports.history import is_senior, local_day, stage_name
from mailagent.store.db import transaction
from mailagent.store.models import LADDER_KINDS, Case, CaseEvent, Outbound
from mailagent.store.outbox import OutgoingEmail, queue_email

log = logging.getLogger(__name__)

__all__ = ["SummarySettings", "build_summary", "render_summary", "send_daily_summary",
           "summary_due"]

TEMPLATE = "daily_summary"
ALERT_STATES = {
    "draft": "draft, waiting for the IRO Group Manager's agreement",
    "awaiting_ack": "waiting for a written acknowledgment",
    "awaiting_response": "acknowledged; waiting for the detailed response",
    "following_up": "following up",
}
PURPOSE = "daily_summary"


def summary_settings(agent: Agent) -> SummarySettings:
    """The configured `[summary]` section (`mailagent.config.SummarySettings`), or its defaults."""
    found = getattr(agent.settings, "summary", None)
    return found if isinstance(found, SummarySettings) else SummarySettings()


# -- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a section: a case (by reference) and what there is to say about it."""

    ref: str
    note: str
    child_ref: str = ""
    stage: str = ""
    team: str = ""
    iro: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tone: str  # "alert", "warn", "info" or "good": the colour of its heading
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class DailySummary:
    day: date
    day_text: str
    since: datetime
    since_text: str
    for_iro: str | None
    sections: tuple[Section, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(section.lines for section in self.sections)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def headline(self) -> str:
        """The subject's few words: the counts that need action first."""
        parts = []
        for key, words in (("overdue", "overdue"), ("due_today", "due today"),
                           ("awaiting_decision", "awaiting decision"),
                           ("process_breaches", "over the whole-process limit"),
                           ("new", "new")):
            count = len(self.section(key).lines) if self._has(key) else 0
            if count:
                parts.append(f"{count} {words}")
        return ", ".join(parts) or ("nothing to report" if self.empty else "for information")

    def _has(self, key: str) -> bool:
        return any(s.key == key for s in self.sections)


def build_summary(session: Session, agent: Agent, now: datetime, *,
                  for_iro: str | None = None) -> DailySummary:
    """What the summary says at `now`: for the whole service, or for one IRO's cases."""
    settings = summary_settings(agent)
    cal = agent.calendar
    today = local_day(cal, now)
    since = datetime.combine(cal.add_working_days(today, -1), settings.send_at, tzinfo=cal.tz)
    facts = _Facts(session, agent, now, for_iro)
    next_day = cal.add_working_days(today, 1)
    next_title = ("Due tomorrow" if (next_day - today).days == 1 else "Due next working day")
    sections = [
        Section("overdue", "Overdue", "alert", facts.overdue()),
        Section("due_today", f"Due today ({_short(today)})", "warn", facts.due_on(today)),
        Section("due_next", f"{next_title} ({_short(next_day)})", "info",
                facts.due_on(next_day)),
        Section("awaiting_decision", "Responses waiting for the IRO's decision", "warn",
                facts.awaiting_decision()),
        Section("process_breaches", "Whole process over its limit", "alert",
                facts.process_breaches()),
        Section("senior", "At Head of Service level and above (stages 3 and 4)", "info",
                facts.senior()),
        Section("new", "New since the last summary", "info", facts.opened_since(since)),
        Section("closed", "Resolved or withdrawn since the last summary", "good",
                facts.closed_since(since)),
        Section("commendations", "Commendations since the last summary", "good",
                facts.commendations_since(since)),
    ]
    if for_iro is None:
        sections += [
            Section("alerts", "Collective alerts", "info",
                    _from_collective(collective.open_alerts(session, agent, now), agent)),
            Section("themes", "Suggested themes", "info",
                    _from_collective(collective.suggest_themes(session, agent, now), agent)),
        ]
    local_since = since.astimezone(cal.tz)
    return DailySummary(
        day=today,
        day_text=cal.format_day(today),
        since=since,
        since_text=f"{_short(local_since.date())} {local_since:%H:%M}",
        for_iro=for_iro,
        sections=tuple(sections),
    )


class _Facts:
    """The queries behind each section; every method returns the section's lines."""

    def __init__(self, session: Session, agent: Agent, now: datetime,
                 for_iro: str | None) -> None:
        self.session, self.agent, self.now, self.for_iro = session, agent, now, for_iro
        self.cal = agent.calendar
        query = select(Case).where(Case.status == "open",
                                   Case.kind.in_(LADDER_KINDS))  # type: ignore[attr-defined]
        self.open = [c for c in session.exec(query.order_by(Case.opened_at, Case.id))
                     if self._mine(c)]

    def _mine(self, case: Case) -> bool:
        return self.for_iro is None or case.iro_email == self.for_iro.lower()

    def _line(self, case: Case, note: str) -> Line:
        ladder = self.agent.rules.ladders.get(case.ladder_id or self.agent.ladder_id)
        iro = self.agent.directory.person_by_email(case.iro_email)
        return Line(
            ref=case.ref,
            note=note,
            child_ref=case.child_ref or "",
            stage=(stage_name(ladder, case.stage_id) if ladder else case.stage_id)
            if case.stage_id else "",
            team=case.fields.get("team_name") or case.team or "",
            iro=iro.name if iro else case.iro_email,
        )

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
            found.append((days, self._line(case, f"{late} (due by end of {_short(last_day)})")))
        return tuple(line for _, line in sorted(found, key=lambda item: -item[0]))

    def due_on(self, day: date) -> tuple[Line, ...]:
        return tuple(
            self._line(case, f"response due by end of {_short(day)}")
            for case in self._waiting()
            if case.stage_deadline is not None and self.now < case.stage_deadline
            and cases.deadline_day(self.cal, case.stage_deadline) == day
        )

    def awaiting_decision(self) -> tuple[Line, ...]:
        lines = []
        for case in self.open:
            if case.stage_state != cases.AWAITING_DECISION:
                continue
            response = self.session.exec(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.kind == "response")
                .order_by(sa.desc(CaseEvent.at), sa.desc(CaseEvent.id))
            ).first()
            said = ""
            if response is not None:
                who = response.detail.get("summary", "").removeprefix("Response from ")
                said = f"response from {who} on {_short(local_day(self.cal, response.at))}"
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
                case, f"whole process {over} (limit ended {_short(last_day)})"))
        return tuple(lines)

    def senior(self) -> tuple[Line, ...]:
        lines = []
        for case in self.open:
            ladder = self.agent.rules.ladders.get(case.ladder_id or self.agent.ladder_id)
            if ladder is None or not is_senior(ladder, case.stage_id):
                continue
            since = (f"since {_short(local_day(self.cal, case.stage_started_at))}"
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

    def opened_since(self, since: datetime) -> tuple[Line, ...]:
        query = select(Case).where(
            Case.opened_at >= since, Case.opened_at < self.now,
            Case.kind.in_(LADDER_KINDS),  # type: ignore[attr-defined]
        ).order_by(Case.opened_at, Case.id)
        return tuple(
            self._line(case, f"opened {_when(self.cal, case.opened_at)}; "
                       f"response due by end of "
                       f"{deadline_words(self.agent, case.stage_deadline)[1]}")
            for case in self.session.exec(query) if self._mine(case)
        )

    def closed_since(self, since: datetime) -> tuple[Line, ...]:
        query = select(Case).where(
            Case.closed_at >= since, Case.closed_at < self.now,  # type: ignore[operator]
            Case.kind.in_(LADDER_KINDS),  # type: ignore[attr-defined]
        ).order_by(Case.closed_at, Case.id)
        return tuple(
            self._line(case, f"{case.status} {_when(self.cal, case.closed_at)}"
                       + ("" if case.status != "resolved" or case.outcome
                          else "; outcome not yet recorded"))
            for case in self.session.exec(query) if self._mine(case) and case.closed_at
        )

    def commendations_since(self, since: datetime) -> tuple[Line, ...]:
        query = select(Case).where(
            Case.opened_at >= since, Case.opened_at < self.now, Case.kind == "commendation"
        ).order_by(Case.opened_at, Case.id)
        return tuple(
            self._line(case, f"good practice recognised {_when(self.cal, case.opened_at)}")
            for case in self.session.exec(query) if self._mine(case)
        )


def _from_collective(items: Sequence[Any], agent: Agent) -> tuple[Line, ...]:
    """Lines for open collective alerts or suggested themes."""
    return tuple(_external_line(agent, item) for item in items)


def _external_line(agent: Agent, item: Any) -> Line:
    """A line for an open collective alert (a dict: ref, theme, state, linked, ack_due,
    response_due, next_followup, overdue) or a suggested theme (team, category,
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
        parts.append(ALERT_STATES.get(str(get("state")), str(get("state")).replace("_", " ")))
    for key, words in (("ack_due", "acknowledgment due by end of"),
                       ("response_due", "response due by end of"),
                       ("next_followup", "next follow-up")):
        if get(key):
            parts.append(f"{words} {_day_words(get(key))}")
    overdue = get("overdue") or []
    if overdue:
        late = ", ".join(str(o).removesuffix("_overdue").replace("ack", "acknowledgment")
                         for o in overdue)
        parts.append(f"OVERDUE: {late}")
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
        return _short(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _short(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _when(cal: Any, at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(cal.tz)
    return f"{_short(local.date())} {local:%H:%M}"


# -- rendering ---------------------------------------------------------------------------


def summary_context(agent: Agent, summary: DailySummary) -> dict[str, Any]:
    return {
        "summary": summary,
        "sections": [s for s in summary.sections if s.lines],
        "quiet": [s.title for s in summary.sections if not s.lines],
        "mailbox": agent.settings.agent.mailbox,
        "council": agent.rules.ladders[agent.ladder_id].council,
        "scope": "your cases" if summary.for_iro else "all cases",
    }


def render_summary(agent: Agent, summary: DailySummary) -> Rendered:
    """The email: subject, plain text and Outlook-safe HTML (inline CSS, no scripts)."""
    return agent.renderer.render(TEMPLATE, summary_context(agent, summary))


# -- sending -----------------------------------------------------------------------------


def summary_due(agent: Agent, now: datetime) -> bool:
    """Whether `now` is on a working day at or after the configured sending time."""
    settings = summary_settings(agent)
    local = now.astimezone(agent.calendar.tz)
    return (settings.enabled and agent.calendar.is_working_day(local.date())
            and local.time() >= settings.send_at)


def send_daily_summary(agent: Agent, now: datetime) -> bool:
    """Queue today's summary (and each IRO's, if configured); True if one was queued now.

    Nothing is queued on a non-working day, before the configured time, on a day with
    nothing to say (unless `send_empty`), or when today's was already queued: each has the
    dedupe key `summary:<local date>` (`summary:<local date>:<IRO email>` for an IRO's).
    Call it once a day at `[summary] send_at`; calling it again is harmless.
    """
    if not summary_due(agent, now):
        return False
    settings = summary_settings(agent)
    day = local_day(agent.calendar, now).isoformat()
    queued = False
    with transaction(agent.engine) as session:
        people = _people(agent, settings.to)
        queued |= _queue(session, agent, now, people, f"summary:{day}", None,
                         settings.send_empty)
        if settings.per_iro:
            for email in _iros_with_cases(session):
                iro = agent.directory.person_by_email(email) or Person(name=email, email=email)
                queued |= _queue(session, agent, now, [iro], f"summary:{day}:{email}", email,
                                 settings.send_empty)
    return queued


def _queue(session: Session, agent: Agent, now: datetime, people: list[Person], key: str,
           for_iro: str | None, send_empty: bool) -> bool:
    if not people:
        log.warning("daily summary: no one holds the summary's roles")
        return False
    if session.exec(select(Outbound.id).where(Outbound.dedupe_key == key)).first():
        return False
    summary = build_summary(session, agent, now, for_iro=for_iro)
    if summary.empty and not send_empty:
        return False
    rendered = render_summary(agent, summary)
    email = OutgoingEmail(
        to=[formataddr((p.name, p.email)) for p in people],
        subject=rendered.subject, text=rendered.text, html=rendered.html, automated=True,
    )
    queue_email(session, email, sender=agent.sender, purpose=PURPOSE, dedupe_key=key, now=now)
    log.info("daily summary queued", extra={"dedupe_key": key})
    return True


def _people(agent: Agent, roles: list[str]) -> list[Person]:
    found: dict[str, Person] = {}
    for role in roles:
        for person in agent.directory.resolve(role):
            found.setdefault(person.email, person)
    return list(found.values())


def _iros_with_cases(session: Session) -> list[str]:
    query = select(Case.iro_email).where(
        Case.status == "open", Case.kind.in_(LADDER_KINDS)  # type: ignore[attr-defined]
    ).distinct().order_by(Case.iro_email)
    return list(session.exec(query))
