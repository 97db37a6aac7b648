"""The daily summary email to the IRO team manager (and, if configured, each IRO).

At the configured local time on working days: what is due today and on the next working
day, what is overdue and by how many working days, responses waiting for an IRO's decision,
whole-process clocks over their limit, cases at Head of Service level and above, cases on
the challenge meeting, with legal advice sought or a CAFCASS referral considered, and what
happened since the last summary (new cases, resolutions, commendations), with collective
alerts and suggested themes when `mailagent.cases.collective` provides them.

`build_summary` reads the database into a `DailySummary` (plain data); `render_summary`
turns it into the email (templates `daily_summary.txt.j2` and `.html.j2`); and
`send_daily_summary` queues it in the outbox, once per day. Children appear by record
number only, never by name, and no free text an IRO wrote is copied into it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import formataddr
from typing import Any

from sqlmodel import Session, select

from mailagent.app import Agent
from mailagent.cases import themes
from mailagent.cases.notify import email_context
from mailagent.config import SummarySettings
from mailagent.mail.render import Rendered
from mailagent.policy.directory import Person
from mailagent.reports.history import local_day
from mailagent.reports.summary_facts import Facts, Line, from_collective, short_day
from mailagent.store.db import transaction
from mailagent.store.models import LADDER_KINDS, Case, Outbound
from mailagent.store.outbox import OutgoingEmail, queue_email

log = logging.getLogger(__name__)

__all__ = ["SummarySettings", "build_summary", "render_summary", "send_daily_summary",
           "summary_due"]

TEMPLATE = "daily_summary"
PURPOSE = "daily_summary"


def summary_settings(agent: Agent) -> SummarySettings:
    """The configured `[summary]` section (`mailagent.config.SummarySettings`), or its defaults."""
    found = getattr(agent.settings, "summary", None)
    return found if isinstance(found, SummarySettings) else SummarySettings()


# -- the data ----------------------------------------------------------------------------


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
    facts = Facts(session, agent, now, for_iro)
    next_day = cal.add_working_days(today, 1)
    next_title = ("Due tomorrow" if (next_day - today).days == 1 else "Due next working day")
    sections = [
        Section("overdue", "Overdue", "alert", facts.overdue()),
        Section("due_today", f"Due today ({short_day(today)})", "warn", facts.due_on(today)),
        Section("due_next", f"{next_title} ({short_day(next_day)})", "info",
                facts.due_on(next_day)),
        Section("awaiting_decision", "Responses waiting for the IRO's decision", "warn",
                facts.awaiting_decision()),
        Section("process_breaches", "Whole process over its limit", "alert",
                facts.process_breaches()),
        Section("senior", "At Head of Service level and above (stages 3 and 4)", "info",
                facts.senior()),
        Section("oversight", "Challenge meeting, legal advice and CAFCASS", "warn",
                facts.oversight()),
        Section("new", "New since the last summary", "info", facts.opened_since(since)),
        Section("closed", "Resolved or withdrawn since the last summary", "good",
                facts.closed_since(since)),
        Section("commendations", "Commendations since the last summary", "good",
                facts.commendations_since(since)),
    ]
    if for_iro is None:
        sections += [
            Section("alerts", "Collective alerts", "info",
                    from_collective(themes.open_alerts(session, agent, now), agent)),
            Section("themes", "Suggested themes", "info",
                    from_collective(themes.suggest_themes(session, agent, now), agent)),
        ]
    local_since = since.astimezone(cal.tz)
    return DailySummary(
        day=today,
        day_text=cal.format_day(today),
        since=since,
        since_text=f"{short_day(local_since.date())} {local_since:%H:%M}",
        for_iro=for_iro,
        sections=tuple(sections),
    )


# -- rendering ---------------------------------------------------------------------------


def summary_context(agent: Agent, summary: DailySummary) -> dict[str, Any]:
    return email_context(
        agent,
        summary=summary,
        sections=[s for s in summary.sections if s.lines],
        quiet=[s.title for s in summary.sections if not s.lines],
        scope="your cases" if summary.for_iro else "all cases",
    )


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
