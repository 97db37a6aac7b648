"""People answering an escalation: the stage's addressee responds; anyone else's email is
recorded; the IRO's outcome after the case closed is filed."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from mailagent.cases import authorise, commands, escalation
from mailagent.cases.match import Match
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome
from mailagent.cases.recipients import name_of
from mailagent.cases.timeline import record
from mailagent.mail.classify import Classification
from mailagent.mail.fields import parse_fields
from mailagent.mail.parse import InboundMessage
from mailagent.store.models import (
    Case,
)

log = logging.getLogger(__name__)


def on_reply(
    session: Session, office: Office, match: Match, msg: InboundMessage, cls: Classification,
    now: datetime, inbound_id: int,
) -> Outcome:
    case = match.case
    sender = (msg.from_addr or "").lower()
    text = cls.reply_text or ""
    if case.status != "open":
        found = _outcome_fields(office, cls)
        if sender == case.iro_email and found:
            commands.record_outcome(session, case, now, actor=sender, outcome=found[0],
                                  learning=found[1])
            return Outcome("processed", case_ref=case.ref, summary="outcome recorded")
        record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
               summary=f"Email after the case closed, from {name_of(office, sender)}")
        return Outcome("processed", case_ref=case.ref, summary="reply to a closed case")
    stage = office.ladder_of(case).stage(case.stage_id)
    responder = authorise.stage_answerer(office, case, sender)
    if responder is not None:
        escalation.respond(session, office, case, responder, text, now, inbound_id)
        return Outcome("processed", case_ref=case.ref,
                       summary=f"{case.ref}: response at {stage.name}")
    who = "the IRO" if sender == case.iro_email else name_of(office, sender)
    record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
           summary=f"Email from {who} (does not answer the stage)")
    return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: recorded reply")




def _outcome_fields(office: Office, cls: Classification) -> tuple[str | None, str | None] | None:
    """Outcome: and Learning: written in a plain reply after the case closed."""
    found = parse_fields(cls.reply_text or "", office.vocabulary, scope="command").values
    outcome, learning = found.get("outcome"), found.get("learning")
    if outcome is None and learning is None:
        return None
    return (str(outcome) if outcome else None, str(learning) if learning else None)


def on_escalation_email(
    session: Session, office: Office, case: Case, match: Match, msg: InboundMessage,
    cls: Classification, now: datetime, inbound_id: int,
) -> Outcome:
    """An email matched to an escalation: the IRO's commands, or someone's reply."""
    if cls.kind == "command":
        return commands.on_commands(session, office, case, msg, cls, now, inbound_id)
    return on_reply(session, office, match, msg, cls, now, inbound_id)
