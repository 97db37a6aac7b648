"""Mail no person wrote, about a case. None of it is answered, and none of it answers a
stage: an out-of-office brings in the deputy; a bounce tells the IRO who did not receive
the case's email; a challenge-response request tells the IRO, once for each person whose
mail system asks, that the person has not received it; read receipts are noted on the
case; complaint reports and bulk mail are filed.

(What each kind is: `mailagent.mail.automated.AutomatedKind`.)"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from mailagent.cases import escalation
from mailagent.cases.match import Match
from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome
from mailagent.cases.recipients import name_of, names, people_for, stage_recipients
from mailagent.cases.timeline import record
from mailagent.mail.automated import AutomatedKind, bounce_details
from mailagent.mail.parse import InboundMessage
from mailagent.policy.directory import Person
from mailagent.store.inbound import link_to_case
from mailagent.store.models import (
    Case,
    MessageRef,
)

log = logging.getLogger(__name__)


def on_autoreply(
    session: Session, office: Office, match: Match | None, sender: str, now: datetime,
    inbound_id: int,
) -> Outcome:
    """An out-of-office from a stage's addressee sends the stage email to their deputy."""
    if match is None or match.case.status != "open":
        return Outcome("processed", "automated reply, not about an open case",
                       summary="automated reply filed")
    case = match.case
    link_to_case(session, inbound_id, case.id)
    record(session, case, "autoreply", now, actor=sender, inbound_id=inbound_id,
           summary=f"Automatic reply from {name_of(office, sender)}")
    stage = office.ladder_of(case).stage(case.stage_id)
    addressee = next(
        (p for p in stage_recipients(office, case, stage).to if p.email == sender), None
    )
    person = office.directory.person_by_email(sender)
    if addressee is None or person is None or case.stage_state == "paused":
        return Outcome("processed", case_ref=case.ref, summary="automated reply recorded")
    return Outcome("processed", case_ref=case.ref, summary=escalation.stand_in(
        session, office, case, person, now))


def on_bounce(
    session: Session, office: Office, msg: InboundMessage, now: datetime, inbound_id: int
) -> Outcome:
    """A bounce of our email tells the IRO that the person did not receive it."""
    details = bounce_details(msg)
    case = case_of_our_email(session, details.original_message_ids)
    if case is None:
        return Outcome("processed", "bounce not about a case email", summary="bounce filed")
    link_to_case(session, inbound_id, case.id)
    failed = [office.directory.person_by_email(a) or Person(name=a, email=a)
              for a in details.failed_recipients]
    record(session, case, "bounce", now, inbound_id=inbound_id,
           summary=f"Email not delivered to {names(failed) or 'a recipient'}")
    if failed and all(p.email == case.iro_email for p in failed):
        # The IRO's own address failed: an email to tell them would bounce too.
        return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: bounce to the IRO")
    ladder = office.ladder_of(case)
    context = case_context(session, office, case, ladder,
                           failed_names=names(failed) or "one of the recipients")
    send(session, office, case, template="bounce_notice", context=context,
         to=people_for(office, case, ["iro"]), purpose="bounce_notice",
         key=f"bounce:{inbound_id}", now=now, automated=True)
    return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: bounce; IRO told")


def on_confirmation_request(
    session: Session, office: Office, match: Match | None, msg: InboundMessage, now: datetime,
    inbound_id: int,
) -> Outcome:
    """A challenge-response filter holds our email: never answered; the IRO is told once."""
    # Many such filters attach our email rather than answer it: find the case by its ids.
    case = match.case if match is not None else case_of_our_email(
        session, bounce_details(msg).original_message_ids)
    if case is None:
        return Outcome("processed", "challenge-response request, not about a case",
                       summary="confirmation request filed")
    sender = (msg.from_addr or "").lower()
    person = office.directory.person_by_email(sender)
    who = person.name if person else None
    link_to_case(session, inbound_id, case.id)
    record(session, case, "confirmation_request", now, actor=sender, inbound_id=inbound_id,
           summary=f"{who or 'A recipient'}'s mail system asked us to confirm we are a "
                   "person; our email is held until someone does")
    if case.status != "open":
        return Outcome("processed", case_ref=case.ref, summary="confirmation request recorded")
    context = case_context(session, office, case, office.ladder_of(case), held_for=who,
                           sender_domain=sender.rpartition("@")[2])
    send(session, office, case, template="confirmation_request", context=context,
         to=people_for(office, case, ["iro"]), purpose="confirmation_request",
         key=f"confirmation_request:{sender}", now=now, automated=True)
    return Outcome("processed", case_ref=case.ref,
                   summary=f"{case.ref}: confirmation request; IRO told")


def on_notice(
    session: Session, office: Office, match: Match | None, kind: str, sender: str,
    now: datetime, inbound_id: int,
) -> Outcome:
    """A read receipt is noted on its case; complaint reports and bulk mail are filed."""
    if kind != AutomatedKind.READ_RECEIPT or match is None:
        return Outcome("processed", f"{kind.replace('_', ' ')}: filed", summary=f"{kind} filed")
    case = match.case
    link_to_case(session, inbound_id, case.id)
    record(session, case, "read_receipt", now, actor=sender, inbound_id=inbound_id,
           summary=f"Read receipt from {name_of(office, sender)}")
    return Outcome("processed", case_ref=case.ref, summary="read receipt recorded")


def case_of_our_email(session: Session, message_ids: tuple[str, ...]) -> Case | None:
    """The case of the first of `message_ids` that is an email we sent."""
    for message_id in message_ids:
        ref = session.get(MessageRef, message_id)
        if ref is not None and ref.direction == "out":
            return session.get(Case, ref.case_id)
    return None
