"""Which case an inbound email belongs to, and how sure we are.

Tried in order, strongest first: the Message-IDs it answers (In-Reply-To, References), the
body marker, the reference in the subject, Outlook's conversation (Thread-Index), and the
sender with the child's record number. A guessable reference (marker, subject, conversation,
child) attaches only when the sender takes part in that case, so a stranger who types a
reference cannot inject into it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, select

from mailagent.store.models import Case, ConversationRef, MessageRef, Participant

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Match:
    case: Case
    how: str
    weak: bool = False


def match_case(
    session: Session,
    *,
    sender: str,
    message_ids: Iterable[str],
    marker_ref: str | None,
    subject_ref: str | None,
    conversation: str | None,
    child_ref: str | None,
) -> Match | None:
    """The case this email is about, or None."""
    case = _by_message_ids(session, message_ids)
    if case is not None:
        return Match(case, "thread")
    for how, ref in (("marker", marker_ref), ("subject", subject_ref)):
        case = _by_ref(session, ref)
        if case is not None and is_participant(session, case, sender):
            return Match(case, how)
    if conversation:
        link = session.get(ConversationRef, conversation)
        case = session.get(Case, link.case_id) if link else None
        if case is not None and is_participant(session, case, sender):
            return Match(case, "thread-index")
    if child_ref:
        case = _open_case_for_child(session, child_ref, sender)
        if case is not None:
            log.info("weak match by sender and child", extra={"case_ref": case.ref})
            return Match(case, "sender+child", weak=True)
    return None


def is_participant(session: Session, case: Case, address: str) -> bool:
    query = select(Participant).where(
        Participant.case_id == case.id, Participant.email == address.lower()
    )
    return address.lower() == case.iro_email or session.exec(query).first() is not None


def _by_message_ids(session: Session, message_ids: Iterable[str]) -> Case | None:
    for message_id in message_ids:
        ref = session.get(MessageRef, message_id)
        if ref is not None:
            return session.get(Case, ref.case_id)
    return None


def _by_ref(session: Session, ref: str | None) -> Case | None:
    if not ref:
        return None
    return session.exec(select(Case).where(Case.ref == ref)).first()


def _open_case_for_child(session: Session, child_ref: str, sender: str) -> Case | None:
    query = (
        select(Case)
        .where(Case.child_ref == child_ref, Case.status == "open")
        .order_by(Case.opened_at.desc())  # type: ignore[union-attr]
    )
    for case in session.exec(query):
        if is_participant(session, case, sender):
            return case
    return None
