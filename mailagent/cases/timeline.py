"""A case's timeline and identifiers: its events, the Message-IDs and conversations that
thread to it, and its reference numbers."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from mailagent.store.models import (
    Case,
    CaseEvent,
    ConversationRef,
    Counter,
    MessageRef,
)

log = logging.getLogger(__name__)


def next_ref(session: Session, prefix: str, year: int) -> str:
    """The next reference for `prefix` in `year` (ESC-2026-0001, ...), never reused.

    Agents sharing a database (two mailboxes, or a sweep beside a pass) take turns on the
    counter's row lock, held until their transaction commits. The year's first reference
    cannot lock a row that is not there yet: the row is inserted unless it exists (waiting
    for another agent's insert to commit rather than failing on it), then locked."""
    name = f"{prefix}-{year}"
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]
    session.connection().execute(insert(Counter).values(name=name, value=0)
                                 .on_conflict_do_nothing(index_elements=["name"]))
    counter = session.exec(select(Counter).where(Counter.name == name).with_for_update()).one()
    counter.value += 1
    session.add(counter)
    session.flush()
    return f"{name}-{counter.value:04d}"


def record(session: Session, case: Case, kind: str, now: datetime, *, summary: str,
           actor: str | None = None, stage_id: str | None = None, inbound_id: int | None = None,
           outbound_id: int | None = None, **detail: Any) -> CaseEvent:
    event = CaseEvent(case_id=case.id, at=now, kind=kind, stage_id=stage_id or case.stage_id,
                      actor=actor, inbound_id=inbound_id, outbound_id=outbound_id,
                      detail={"summary": summary, **detail})
    session.add(event)
    session.flush()
    return event


def remember_message(session: Session, case: Case, message_id: str | None, direction: str) -> None:
    if message_id and session.get(MessageRef, message_id) is None:
        session.add(MessageRef(message_id=message_id, case_id=case.id, direction=direction))
        session.flush()


def remember_conversation(session: Session, case: Case, conversation: str | None) -> None:
    if conversation and session.get(ConversationRef, conversation) is None:
        session.add(ConversationRef(conversation=conversation, case_id=case.id))
        session.flush()
