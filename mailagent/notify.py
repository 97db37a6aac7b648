"""A case's emails: who gets them (roles -> people), what they say, and queueing them.

Roles come from the ladder and resolve through the directory for the case's team. Every
email renders from a template pair, threads under the IRO's first email, carries the
case's marker, and is queued in the outbox inside the caller's transaction. A cap on
emails per recipient per case per day stops a runaway loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

from sqlmodel import Session, select

from mailagent.app import Agent
from mailagent.directory import Person
from mailagent.models import Case, CaseEvent, Outbound, Participant
from mailagent.outbox import Attachment, OutgoingEmail, queue_email
from mailagent.references import format_marker
from mailagent.rules import Ladder, Stage

log = logging.getLogger(__name__)

KIND_LABELS = {"escalation": "Escalation", "challenge": "Positive challenge"}
PLAN_LABELS = {"LAC": "Looked-after child (LAC)", "CP": "Child protection plan (CP)"}

IRO_COMMANDS = (
    ("#resolved", "the matter is resolved (add Outcome: and Learning: lines)"),
    ("#escalate", "escalate to the next stage"),
    ("#escalate to <stage>", "go straight to a stage of your choice"),
    ("#extend <N>", "give N more working days"),
    ("#pause <reason>", "stop the clock (for example while a hearing is awaited)"),
    ("#resume", "restart the clock"),
    ("#cafcass", "record that a CAFCASS referral is being considered (LAC only)"),
    ("#note <text>", "add a note to the case record"),
    ("#withdraw", "withdraw the escalation"),
)


@dataclass(frozen=True)
class Recipients:
    to: list[Person]
    cc: list[Person]

    @property
    def empty(self) -> bool:
        return not self.to


def people_for(agent: Agent, case: Case, roles: tuple[str, ...] | list[str]) -> list[Person]:
    """The people holding `roles` for this case, each once, deputies standing in."""
    found: dict[str, Person] = {}
    for role in roles:
        for person in _resolve(agent, case, role):
            found.setdefault(person.email, person)
    return list(found.values())


def _resolve(agent: Agent, case: Case, role: str) -> list[Person]:
    team = case.team if case.team in agent.directory.teams() else None
    people = agent.directory.resolve(
        role, team=team, iro_email=case.iro_email,
        social_worker_email=case.fields.get("social_worker_email"),
    )
    return people


def stage_recipients(agent: Agent, case: Case, stage: Stage) -> Recipients:
    """To and CC for a stage's email; the IRO is always copied so the thread stays theirs.

    The addressee's deputy is on To while the addressee is away: because the directory
    says so (the absent person keeps a copy for their return), or because their
    out-of-office answered the stage's email (see `stand_ins`).
    """
    to = people_for(agent, case, [stage.to])
    absent = [absent_person(agent, p) for p in to if p.acting_for]
    to += [p for p in absent if p is not None]
    to += [p for p in stand_ins(agent, case, stage) if p.email not in {t.email for t in to}]
    to_emails = {p.email for p in to}
    cc_roles = [*stage.cc, *senders_of(stage), "iro"]
    cc = [p for p in people_for(agent, case, cc_roles) if p.email not in to_emails]
    return Recipients(to=to, cc=cc)


def senders_of(stage: Stage) -> list[str]:
    """Who sends the stage besides the IRO (the IRO's manager, at higher tiers in some
    councils): they are copied, and the email says it comes from them."""
    return [stage.sent_by] if stage.sent_by != "iro" else []


def stand_ins(agent: Agent, case: Case, stage: Stage) -> list[Person]:
    """Deputies standing in at `stage` for addressees whose out-of-office was seen."""
    found = []
    for deputy, absent in case.extra.get("stand_ins", {}).get(stage.id, {}).items():
        person = agent.directory.person_by_email(deputy) or Person(name=deputy, email=deputy)
        found.append(person.model_copy(update={"role": stage.to, "acting_for": absent}))
    return found


def absent_person(agent: Agent, deputy: Person) -> Person | None:
    """The absent person a deputy stands in for: they still get a copy for their return."""
    if deputy.acting_for is None:
        return None
    return agent.directory.person_by_email(deputy.acting_for)


def names(people: list[Person]) -> str:
    return ", ".join(_label(p) for p in people)


def _label(person: Person) -> str:
    role = (person.role or "").replace("_", " ")
    if person.acting_for:
        return f"{person.name} (deputy, {role})" if role else f"{person.name} (deputy)"
    return f"{person.name} ({role})" if role else person.name


def deadline_words(agent: Agent, at: datetime | None) -> tuple[str, str]:
    """("Tuesday 29 December 2026", "Tue 29 Dec") for a deadline instant (end of its day)."""
    if at is None:
        return ("(no deadline)", "(no deadline)")
    day = (at - timedelta(microseconds=1)).astimezone(agent.calendar.tz).date()
    return agent.calendar.format_day(day), f"{day:%a} {day.day} {day:%b}"


def case_context(
    session: Session, agent: Agent, case: Case, ladder: Ladder, **extra: Any
) -> dict[str, Any]:
    """What every case template may use."""
    stage = ladder.stage(case.stage_id) if case.stage_id else ladder.first_stage
    long_text, short_text = deadline_words(agent, case.stage_deadline)
    iro = agent.directory.person_by_email(case.iro_email)
    fields = case.fields
    context: dict[str, Any] = {
        "case": {
            "ref": case.ref,
            "kind_label": KIND_LABELS.get(case.kind, case.kind.title()),
            "child_ref": case.child_ref,
            "plan": case.plan,
            "plan_label": PLAN_LABELS.get(case.plan or "", case.plan or "not given"),
            "team": fields.get("team_name") or case.team,
            "category": fields.get("category_label") or case.category,
            "issue": fields.get("issue", ""),
            "impact": fields.get("impact", ""),
            "resolution_sought": fields.get("resolution_sought", ""),
            "iro_name": iro.name if iro else case.iro_email,
            "iro_email": case.iro_email,
        },
        "stage": {
            "id": stage.id,
            "name": stage.name,
            "informal": not stage.formal,
            "on_timeout": stage.on_timeout,
            "deadline_text": long_text,
            "deadline_short": short_text,
        },
        "mailbox": agent.settings.agent.mailbox,
        "marker": format_marker(case.ref),
        "commands": [{"syntax": s, "meaning": m} for s, m in IRO_COMMANDS],
        "history": history(session, agent, case),
        "notes": [],
        "sent_by_names": names(people_for(agent, case, senders_of(stage))) or None,
    }
    context.update(extra)
    return context


def history(session: Session, agent: Agent, case: Case) -> list[dict[str, str]]:
    """The case's timeline in words, for the emails that carry the whole story."""
    events = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    lines = []
    for event in events:
        what = event.detail.get("summary")
        if what:
            local = event.at.astimezone(agent.calendar.tz)
            # What the manager answered and what the IRO noted travel with the case, so
            # whoever receives it next has the whole story.
            said = event.detail.get("text") if event.kind in ("response", "note") else None
            lines.append({"when": f"{local:%d %b %Y %H:%M}", "what": what, "text": said or ""})
    return lines


def send(
    session: Session,
    agent: Agent,
    case: Case,
    *,
    template: str,
    context: dict[str, Any],
    to: list[Person],
    cc: list[Person] | None = None,
    purpose: str,
    key: str,
    now: datetime,
    working_hours: bool = False,
    automated: bool = False,
    attachments: list[Attachment] | None = None,
) -> Outbound | None:
    """Render `template` and queue it for this case, once per `key`."""
    dedupe_key = f"{case.ref}:{key}"
    if session.exec(select(Outbound.id).where(Outbound.dedupe_key == dedupe_key)).first():
        return None
    cc = [p for p in cc or [] if p.email not in {t.email for t in to}]
    to, cc = _under_cap(session, agent, case, to, now), _under_cap(session, agent, case, cc, now)
    if not to:
        if cc:
            to, cc = cc, []
        else:
            log.warning("no recipient for %s", purpose, extra={"case_ref": case.ref})
            return None
    rendered = agent.renderer.render(template, context)
    root = case.extra.get("root_message_id")
    email = OutgoingEmail(
        to=[formataddr((p.name, p.email)) for p in to],
        cc=[formataddr((p.name, p.email)) for p in cc],
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        in_reply_to=root,
        references=[root] if root else [],
        automated=automated,
        attachments=attachments or [],
    )
    not_before = agent.calendar.next_sending_time(now) if working_hours else now
    row = queue_email(
        session, email, sender=agent.sender, purpose=purpose,
        dedupe_key=dedupe_key, now=now, not_before=not_before, case_id=case.id,
    )
    add_participants(session, case, [*to, *cc])
    return row


def add_participants(session: Session, case: Case, people: list[Person]) -> None:
    for person in people:
        query = select(Participant).where(
            Participant.case_id == case.id, Participant.email == person.email
        )
        if session.exec(query).first() is None:
            session.add(
                Participant(case_id=case.id, email=person.email, role=person.role or "other")
            )
    session.flush()


def _under_cap(
    session: Session, agent: Agent, case: Case, people: list[Person], now: datetime
) -> list[Person]:
    cap = agent.settings.agent.max_emails_per_recipient_per_case_per_day
    since = now - timedelta(days=1)
    rows = session.exec(
        select(Outbound).where(Outbound.case_id == case.id, Outbound.created_at >= since)
    ).all()
    kept = []
    for person in people:
        count = sum(person.email in row.recipients for row in rows)
        if count >= cap:
            log.warning("daily cap reached for a recipient", extra={"case_ref": case.ref})
        else:
            kept.append(person)
    return kept
