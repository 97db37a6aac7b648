"""What to do with each email, once it is understood: open, answer, decide, or file.

`handle_message` is the one place every inbound email meets the cases. It finds the case
the email belongs to and hands it to that kind of case (`kinds`). A person's mistake
(missing fields, an unknown case, a request the rules refuse) is answered in plain English;
mail that no rule covers, or from someone who may not act, is quarantined with its reason
for a person to look at. Machine mail is never answered.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from mailagent.cases import answers, authorise, machine
from mailagent.cases.kinds import KINDS, kind_of
from mailagent.cases.match import Match, match_case
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome, quarantined
from mailagent.cases.timeline import record, remember_conversation, remember_message
from mailagent.mail.classify import Classification
from mailagent.mail.parse import InboundMessage
from mailagent.policy.vocabulary import TAG_KINDS
from mailagent.store.inbound import link_to_case
from mailagent.store.models import Case, Inbound

log = logging.getLogger(__name__)



def handle_message(
    session: Session, office: Office, inbound_id: int, msg: InboundMessage,
    cls: Classification, received_at: datetime,
) -> Outcome:
    """Act on one understood email inside the caller's transaction.

    The email counts from `received_at`, when the mail server received it, however long
    after that it is read: deadlines start from it, a response is in time by it, and the
    case record dates it so. (The emails it causes are dated when they are queued.)
    """
    _note_kind(session, inbound_id, cls.kind)
    if msg.held:  # e.g. an Outlook item dropped into the mailbox: read, never acted on
        return quarantined(msg.held)
    sender = (msg.from_addr or "").lower()
    if not sender:
        return quarantined("no sender address")
    now = received_at
    own = authorise.own_mail(session, office, msg)
    if own is not None:
        return Outcome("processed", summary="our own email, come back: ignored") if own.allowed \
            else quarantined(str(own))
    # About an email we sent, found by its Message-ID, which no stranger knows: from anyone.
    if cls.kind == "bounce":
        return machine.on_bounce(session, office, msg, now, inbound_id)
    if cls.kind == "confirmation_request":
        ours = machine.case_of_our_email(session, (*msg.in_reply_to, *msg.references))
        match = Match(ours, "thread") if ours is not None else None
        return machine.on_confirmation_request(session, office, match, msg, now, inbound_id)
    heard = authorise.in_directory(office, sender)
    if not heard.allowed:
        log.info("email from outside the directory", extra={"inbound_id": inbound_id})
        return quarantined(str(heard))
    verified = authorise.authenticated(office, msg)
    if not verified.allowed:
        answers.tell_unverified(session, office, sender, verified, now, inbound_id)
        return quarantined(str(verified))
    match, refused = _match(session, office, msg, cls, sender)
    if refused is not None:
        return quarantined(str(refused))
    if cls.automated:
        return _automated(session, office, match, msg, cls, sender, now, inbound_id)
    if cls.kind in TAG_KINDS:
        return open_work(session, office, cls.kind, msg, cls, now, inbound_id)
    if match is None:
        if cls.kind == "reply" and cls.tag in TAG_KINDS and office.directory.is_iro(sender):
            # The IRO answering our "please correct" email with the corrected fields.
            return open_work(session, office, cls.tag, msg, cls, now, inbound_id)
        return answers.on_unmatched(session, office, msg, cls, now, inbound_id)
    case = match.case
    _attach(session, case, msg, inbound_id)
    if match.weak:
        record(session, case, "weak_match", now, actor=sender, inbound_id=inbound_id,
               summary="Email matched by sender and child reference only")
    return kind_of(case).on_email(session, office, case, match, msg, cls, now, inbound_id)


def handle_over_limit(
    session: Session, office: Office, inbound_id: int, envelope: InboundMessage, reason: str,
    received_at: datetime,
) -> Outcome:
    """An email too large (or too deep, or in too many parts) to read: quarantined unread;
    its sender is told, if they are someone in the directory whose mail is vouched for.
    `envelope` holds only its sender's header fields."""
    sender = (envelope.from_addr or "").lower()
    own = authorise.own_mail(session, office, envelope) if sender else None
    if sender and own is None and authorise.in_directory(office, sender).allowed \
            and authorise.authenticated(office, envelope).allowed:
        answers.tell_over_limit(session, office, envelope, reason, received_at, inbound_id)
    return quarantined(f"limits: {reason}")


def _match(
    session: Session, office: Office, msg: InboundMessage, cls: Classification, sender: str
) -> tuple[Match | None, authorise.Decision | None]:
    """The case the email is about, if its sender is one of the case's people; else the
    refusal, so that mail from someone with no part in a case never reaches the child's
    record, however it was matched."""
    match = match_case(
        session,
        sender=sender,
        message_ids=[*reversed(msg.in_reply_to), *reversed(msg.references)],
        marker_ref=cls.marker_ref,
        subject_ref=cls.subject_ref,
        conversation=msg.thread_index_conversation,
        child_ref=cls.child_ref if cls.kind in ("reply", "command") else None,
    )
    if match is None:
        return None, None
    on_case = authorise.on_the_case(session, office, match.case, sender)
    if on_case.allowed:
        return match, None
    if cls.automated:
        return None, None  # machine mail from someone not on the case: filed, not linked
    return None, on_case


def _automated(
    session: Session, office: Office, match: Match | None, msg: InboundMessage,
    cls: Classification, sender: str, now: datetime, inbound_id: int,
) -> Outcome:
    """Mail no person wrote: never answered, never a stage's response."""
    if cls.kind == "autoreply":
        return machine.on_autoreply(session, office, match, sender, now, inbound_id)
    # read receipts, complaint reports, bulk mail
    return machine.on_notice(session, office, match, cls.kind, sender, now, inbound_id)


def open_work(
    session: Session, office: Office, kind: str, msg: InboundMessage, cls: Classification,
    now: datetime, inbound_id: int,
) -> Outcome:
    """A tagged email: new work of `kind`, if its sender may open it."""
    allowed = authorise.may_open(office, kind, (msg.from_addr or "").lower())
    if not allowed.allowed:
        log.warning("tagged email from someone who may not open work",
                    extra={"inbound_id": inbound_id})
        return quarantined(str(allowed))
    return KINDS[kind].open(session, office, kind, msg, cls, now, inbound_id)


def _attach(session: Session, case: Case, msg: InboundMessage, inbound_id: int) -> None:
    link_to_case(session, inbound_id, case.id)
    for message_id in (msg.message_id, msg.original_message_id):
        remember_message(session, case, message_id, "in")
    remember_conversation(session, case, msg.thread_index_conversation)


def _note_kind(session: Session, inbound_id: int, kind: str) -> None:
    row = session.get(Inbound, inbound_id)
    if row is not None:
        row.kind = kind
        session.add(row)
