"""The inbound record: every fetched message is stored with everything it causes.

A message is recorded, acted on and marked handled in one transaction (the caller's), so a
crash leaves it either handled completely or not at all; only after that commit does the
message leave the mailbox's inbox folder. A message seen again (the same bytes, or the same
Message-ID from the same mailbox once handled) is recognised and only filed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.logs import message_id_of
from mailagent.sources.base import FetchedMessage
from mailagent.store.models import Inbound, SourceState

DONE = ("processed", "quarantined")


def arrival_time(fetched: FetchedMessage, now: datetime) -> datetime:
    """When the mail server received the message; never later than `now`.

    A server whose clock runs ahead of ours (or a source that cannot say) gives `now`.
    """
    if fetched.received_at is None:
        return now
    return min(fetched.received_at, now)


def record(
    session: Session, source: str, fetched: FetchedMessage, received_at: datetime
) -> Inbound:
    """The stored row for this message: found if seen before, else added (in the caller's
    transaction, with status "new" until `finish`)."""
    digest = hashlib.sha256(fetched.raw).hexdigest()
    message_id = message_id_of(fetched.raw)
    existing = session.exec(select(Inbound).where(Inbound.digest == digest)).first()
    if existing is None and message_id:
        existing = _done_with_same_id(session, source, message_id)
    if existing is not None:
        return existing
    row = Inbound(
        digest=digest,
        source=source,
        source_uid=fetched.uid,
        uidvalidity=fetched.uidvalidity,
        message_id=message_id,
        raw=fetched.raw,
        received_at=received_at,
    )
    session.add(row)
    session.flush()
    return row


def _done_with_same_id(session: Session, source: str, message_id: str) -> Inbound | None:
    """A message already handled from this mailbox under the same Message-ID.

    After a UIDVALIDITY change a server may hand back a message with different bytes (Exchange
    builds IMAP MIME on the fly), so the digest alone would let it be processed twice.
    """
    return session.exec(
        select(Inbound).where(
            Inbound.source == source,
            Inbound.message_id == message_id,
            Inbound.status.in_(DONE),  # type: ignore[attr-defined]
        )
    ).first()


def finish(
    session: Session, row: Inbound, status: str, now: datetime, reason: str | None = None
) -> None:
    """Mark the message handled, in the same transaction as what handling it did."""
    row.status, row.reason, row.processed_at = status, reason, now
    session.add(row)


def note_source_seen(
    engine: sa.Engine, source: str, read_at: datetime, uidvalidity: int | None
) -> None:
    """Remember that the mailbox was read through, as it stood at `read_at` (for `status`,
    and so that deadlines are judged only on mail read), and its UIDVALIDITY."""
    with Session(engine) as session:
        state = session.get(SourceState, source) or SourceState(source=source)
        state.last_seen_at = read_at
        if uidvalidity is not None:
            state.uidvalidity = uidvalidity
        session.add(state)
        session.commit()


def read_through(engine: sa.Engine, source: str) -> datetime | None:
    """The moment as of which the mailbox was last read through (None: never)."""
    with Session(engine) as session:
        state = session.get(SourceState, source)
    return state.last_seen_at if state is not None else None


def link_to_case(session: Session, inbound_id: int, case_id: int | None) -> None:
    """Record which case a stored message belongs to (in the caller's transaction)."""
    row = session.get(Inbound, inbound_id)
    if row is not None:
        row.case_id = case_id
        session.add(row)
