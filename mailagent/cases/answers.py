"""Answers to email that belongs to no case yet: help for an IRO who wrote without a tag,
and a request to correct a tagged email whose fields are incomplete; and the one brake on
every automatic answer.

Every automatic answer (these, a refused command, a notice that an email was too large to
read) counts against `[limits] max_answers_per_sender_per_day` for its recipient, so an
auto-responder that answers each of our emails without saying it is one (no RFC 3834
headers) gets a few answers and then silence, instead of a loop."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

from sqlmodel import Session, select

from mailagent.cases.notify import email_context, queued_at
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome, quarantined
from mailagent.mail.classify import Classification
from mailagent.mail.fields import example_fields
from mailagent.mail.parse import InboundMessage
from mailagent.store.models import Outbound
from mailagent.store.outbox import OutgoingEmail, queue_email

log = logging.getLogger(__name__)


def ask_for_corrections(
    session: Session, office: Office, kind: str, msg: InboundMessage, cls: Classification,
    problems: list[str], now: datetime, inbound_id: int,
) -> None:
    iro = office.directory.person_by_email(msg.from_addr or "")
    context = email_context(
        office,
        sender_name=iro.name if iro else msg.from_name or msg.from_addr,
        tag_label=office.vocabulary.tags[kind].label,
        original_subject=msg.subject,
        problems=problems,
        example=example_fields(office.vocabulary, kind),
        child_ref=cls.child_ref,
    )
    _answer(session, office, msg, "fields_problem", context, now, inbound_id)


def on_unmatched(
    session: Session, office: Office, msg: InboundMessage, cls: Classification, now: datetime,
    inbound_id: int,
) -> Outcome:
    sender = (msg.from_addr or "").lower()
    if not office.directory.is_iro(sender):
        return quarantined(f"{cls.kind}: not about a known case, and not from a known IRO")
    iro = office.directory.person_by_email(sender)
    vocab = office.vocabulary
    context = email_context(
        office,
        sender_name=iro.name if iro else sender,
        original_subject=msg.subject,
        tags=[{"tag": f"[{rule.words[0].upper()}]", "meaning": rule.label}
              for rule in vocab.tags.values()],
        example=example_fields(vocab, "escalation"),
    )
    _answer(session, office, msg, "help", context, now, inbound_id)
    return Outcome("processed", "not about a case: the IRO was sent help",
                   summary="IRO sent help")


ANSWERS = ("help", "fields_problem", "command_refused", "over_limit")


def may_answer(session: Session, office: Office, address: str, now: datetime) -> bool:
    """Whether `address` may get another automatic answer today (the loop brake)."""
    cap = office.settings.limits.max_answers_per_sender_per_day
    rows = session.exec(
        select(Outbound.recipients).where(
            Outbound.purpose.in_(ANSWERS),  # type: ignore[attr-defined]
            Outbound.created_at >= now - timedelta(days=1),
        )
    ).all()
    sent = sum(address.lower() in recipients for recipients in rows)
    if sent >= cap:
        log.warning("automatic answers to one sender capped for the day")
        return False
    return True


def tell_unverified(
    session: Session, office: Office, claimed: str, refusal: object, now: datetime,
    inbound_id: int,
) -> None:
    """Tell the IRO team manager, once a day for each address, that mail in a directory
    person's name failed the receiving server's checks and was quarantined."""
    managers = office.directory.resolve("iro_team_manager")
    person = office.directory.person_by_email(claimed)
    if not managers:
        log.warning("no iro_team_manager in the directory to tell of an unverified sender")
        return
    reason = str(refusal).split(": ", 1)[-1]
    context = email_context(
        office, greeting=" and ".join(p.name for p in managers),
        claimed=claimed, claimed_name=person.name if person else claimed,
        reason=reason, inbound_id=inbound_id,
    )
    rendered = office.renderer.render("sender_unverified", context)
    email = OutgoingEmail(
        to=[formataddr((p.name, p.email)) for p in managers], subject=rendered.subject,
        text=rendered.text, html=rendered.html, automated=True,
    )
    day = now.astimezone(office.calendar.tz).date().isoformat()
    queue_email(session, email, sender=office.sender, purpose="sender_unverified",
                dedupe_key=f"sender_unverified:{claimed}:{day}", now=now)


def tell_over_limit(
    session: Session, office: Office, msg: InboundMessage, reason: str, now: datetime,
    inbound_id: int,
) -> None:
    """Tell someone in the directory that their email was too large to read."""
    person = office.directory.person_by_email(msg.from_addr or "")
    sent = (msg.date or now).astimezone(office.calendar.tz)
    context = email_context(
        office, sender_name=person.name if person else msg.from_addr, reason=reason,
        sent_on=f"{office.calendar.format_day(sent.date())} at {sent:%H:%M}",
    )
    _answer(session, office, msg, "over_limit", context, now, inbound_id)


def _answer(session: Session, office: Office, msg: InboundMessage, template: str,
            context: dict[str, Any], now: datetime, inbound_id: int) -> None:
    """Answer the sender of an email that belongs to no case, within the daily cap."""
    if not may_answer(session, office, msg.from_addr or "", now):
        return
    rendered = office.renderer.render(template, context)
    email = OutgoingEmail(
        to=[formataddr((context["sender_name"], msg.from_addr or ""))],
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=msg.message_id, references=[msg.message_id] if msg.message_id else [],
        automated=True,
    )
    queue_email(session, email, sender=office.sender, purpose=template,
                dedupe_key=f"{template}:{inbound_id}", now=queued_at(office, now))
