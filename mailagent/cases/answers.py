"""Answers to email that belongs to no case yet: help for an IRO who wrote without a tag,
and a request to correct a tagged email whose fields are incomplete."""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import formataddr
from typing import Any

from sqlmodel import Session

from mailagent.cases.notify import email_context, queued_at
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome, quarantined
from mailagent.mail.classify import Classification
from mailagent.mail.fields import example_fields
from mailagent.mail.parse import InboundMessage
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


def _answer(session: Session, office: Office, msg: InboundMessage, template: str,
            context: dict[str, Any], now: datetime, inbound_id: int) -> None:
    """Answer the sender of an email that belongs to no case."""
    rendered = office.renderer.render(template, context)
    email = OutgoingEmail(
        to=[formataddr((context["sender_name"], msg.from_addr or ""))],
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=msg.message_id, references=[msg.message_id] if msg.message_id else [],
        automated=True,
    )
    queue_email(session, email, sender=office.sender, purpose=template,
                dedupe_key=f"{template}:{inbound_id}", now=queued_at(office, now))
