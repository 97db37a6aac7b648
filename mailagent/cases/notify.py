"""A case's emails: what they say (the template context) and queueing them in the outbox.

Every email renders from a template pair, threads under the IRO's first email, carries the
case's marker, and is queued in the outbox inside the caller's transaction. A cap on
emails per recipient per case per day stops a runaway loop."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

from sqlmodel import Session, select

from mailagent.cases.office import Office
from mailagent.cases.recipients import names, people_for, senders_of
from mailagent.mail.references import format_marker
from mailagent.policy.directory import Person
from mailagent.policy.ladder import Ladder
from mailagent.store.models import (
    Case,
    CaseEvent,
    Outbound,
    Participant,
)
from mailagent.store.outbox import Attachment, OutgoingEmail, queue_email

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


def deadline_words(office: Office, at: datetime | None) -> tuple[str, str]:
    """("Tuesday 29 December 2026", "Tue 29 Dec") for a deadline instant (end of its day)."""
    if at is None:
        return ("(no deadline)", "(no deadline)")
    day = (at - timedelta(microseconds=1)).astimezone(office.calendar.tz).date()
    return office.calendar.format_day(day), f"{day:%a} {day.day} {day:%b}"


def deadline_text(office: Office, at: datetime | None) -> str:
    """A deadline in words, e.g. "Tuesday 29 December 2026"."""
    return deadline_words(office, at)[0]


def email_context(office: Office, case: Case | None = None, *,
                  case_fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """What every email template may use: the shared mailbox, the council and, for an email
    about a case, its reference, marker and IRO (`case`, with this kind's `case_fields`).
    Each kind of email adds its own."""
    context: dict[str, Any] = {
        "mailbox": office.settings.agent.mailbox,
        "council": office.ladder.council,
    }
    if case is not None:
        iro = office.directory.person_by_email(case.iro_email)
        context["marker"] = format_marker(case.ref)
        context["case"] = {"ref": case.ref, "iro_name": iro.name if iro else case.iro_email,
                           "iro_email": case.iro_email, **(case_fields or {})}
    context.update(extra)
    return context


def case_context(
    session: Session, office: Office, case: Case, ladder: Ladder, **extra: Any
) -> dict[str, Any]:
    """What every escalation template may use."""
    stage = ladder.stage(case.stage_id) if case.stage_id else ladder.first_stage
    long_text, short_text = deadline_words(office, case.stage_deadline)
    fields = case.fields
    context = email_context(
        office, case,
        case_fields={
            "kind_label": KIND_LABELS.get(case.kind, case.kind.title()),
            "child_ref": case.child_ref,
            "plan": case.plan,
            "plan_label": PLAN_LABELS.get(case.plan or "", case.plan or "not given"),
            "team": fields.get("team_name") or case.team,
            "category": fields.get("category_label") or case.category,
            "issue": fields.get("issue", ""),
            "impact": fields.get("impact", ""),
            "resolution_sought": fields.get("resolution_sought", ""),
        },
        stage={
            "id": stage.id,
            "name": stage.name,
            "informal": not stage.formal,
            "on_timeout": stage.on_timeout,
            "deadline_text": long_text,
            "deadline_short": short_text,
        },
        commands=[{"syntax": s, "meaning": m} for s, m in IRO_COMMANDS],
        history=history(session, office, case),
        notes=[],
        sent_by_names=names(people_for(office, case, senders_of(stage))) or None,
    )
    context.update(extra)
    return context


def history(session: Session, office: Office, case: Case) -> list[dict[str, str]]:
    """The case's timeline in words, for the emails that carry the whole story."""
    events = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    lines = []
    for event in events:
        what = event.detail.get("summary")
        if what:
            local = event.at.astimezone(office.calendar.tz)
            # What the manager answered and what the IRO noted travel with the case, so
            # whoever receives it next has the whole story.
            said = event.detail.get("text") if event.kind in ("response", "note") else None
            lines.append({"when": f"{local:%d %b %Y %H:%M}", "what": what, "text": said or ""})
    return lines


def send(
    session: Session,
    office: Office,
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
    now = queued_at(office, now)
    cc = [p for p in cc or [] if p.email not in {t.email for t in to}]
    sent = _sent_today(session, case, now)
    to, cc = _under_cap(office, case, to, sent), _under_cap(office, case, cc, sent)
    if not to:
        if cc:
            to, cc = cc, []
        else:
            log.warning("no recipient for %s", purpose, extra={"case_ref": case.ref})
            return None
    rendered = office.renderer.render(template, context)
    root = case.root_message_id
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
    not_before = office.calendar.next_sending_time(now) if working_hours else now
    row = queue_email(
        session, email, sender=office.sender, purpose=purpose,
        dedupe_key=dedupe_key, now=now, not_before=not_before, case_id=case.id,
    )
    add_participants(session, case, [*to, *cc])
    return row


def queued_at(office: Office, at: datetime) -> datetime:
    """When an email caused by something that happened `at` is queued, and so dated: now,
    for an email read late (after downtime) is answered when it is read."""
    return max(at, office.clock.now())


def add_participants(session: Session, case: Case, people: list[Person]) -> None:
    """Each person on the case's thread once (whatever their role), read in one query."""
    known = set(session.exec(select(Participant.email).where(Participant.case_id == case.id)))
    for person in people:
        if person.email not in known:
            known.add(person.email)
            session.add(
                Participant(case_id=case.id, email=person.email, role=person.role or "other")
            )
    session.flush()


def _sent_today(session: Session, case: Case, now: datetime) -> list[list[str]]:
    """The recipients of each email queued on the case in the day before `now` (only that
    column: the rows hold whole emails)."""
    since = now - timedelta(days=1)
    return [list(recipients) for recipients in session.exec(
        select(Outbound.recipients).where(Outbound.case_id == case.id,
                                          Outbound.created_at >= since))]


def _under_cap(office: Office, case: Case, people: list[Person],
               sent: list[list[str]]) -> list[Person]:
    cap = office.settings.agent.max_emails_per_recipient_per_case_per_day
    kept = []
    for person in people:
        count = sum(person.email in recipients for recipients in sent)
        if count >= cap:
            log.warning("daily cap reached for a recipient", extra={"case_ref": case.ref})
        else:
            kept.append(person)
    return kept
