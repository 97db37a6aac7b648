"""The inbound record: every fetched message is stored before anything acts on it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.sources.base import FetchedMessage
from mailagent.store.models import Inbound, SourceState

DONE = ("processed", "quarantined")


@dataclass(frozen=True)
class Recorded:
    inbound_id: int
    status: str

    @property
    def done(self) -> bool:
        return self.status in DONE


def record_fetched(
    engine: sa.Engine, source: str, fetched: FetchedMessage, now: datetime
) -> Recorded:
    """Store the raw message once (keyed by its bytes' digest) and say where it stands."""
    digest = hashlib.sha256(fetched.raw).hexdigest()
    message_id = _message_id(fetched.raw)
    with Session(engine) as session:
        existing = session.exec(select(Inbound).where(Inbound.digest == digest)).first()
        if existing is None and message_id:
            existing = _done_with_same_id(session, source, message_id)
        if existing is not None and existing.id is not None:
            return Recorded(existing.id, existing.status)
        row = Inbound(
            digest=digest,
            source=source,
            source_uid=fetched.uid,
            uidvalidity=fetched.uidvalidity,
            message_id=message_id,
            raw=fetched.raw,
            received_at=now,
        )
        session.add(row)
        try:
            session.commit()
        except sa.exc.IntegrityError:  # a concurrent reader stored it first
            session.rollback()
            row = session.exec(select(Inbound).where(Inbound.digest == digest)).one()
        assert row.id is not None
        return Recorded(row.id, row.status)


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


def mark(
    engine: sa.Engine, inbound_id: int, status: str, now: datetime, reason: str | None = None
) -> None:
    with Session(engine) as session:
        row = session.get(Inbound, inbound_id)
        assert row is not None
        row.status, row.reason, row.processed_at = status, reason, now
        session.add(row)
        session.commit()


def note_source_seen(
    engine: sa.Engine, source: str, now: datetime, uidvalidity: int | None
) -> None:
    """Remember when we last heard from the mailbox (for `status`) and its UIDVALIDITY."""
    with Session(engine) as session:
        state = session.get(SourceState, source) or SourceState(source=source)
        state.last_seen_at = now
        if uidvalidity is not None:
            state.uidvalidity = uidvalidity
        session.add(state)
        session.commit()


def _message_id(raw: bytes) -> str | None:
    # A cheap header scan: the full parse comes later and must not be needed to store.
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.splitlines():
        if line[:11].lower() == b"message-id:":
            value = line[11:].strip().decode("ascii", "replace")
            return value[:998] or None
    return None


def link_to_case(session: Session, inbound_id: int, case_id: int | None) -> None:
    """Record which case a stored message belongs to (in the caller's transaction)."""
    row = session.get(Inbound, inbound_id)
    if row is not None:
        row.case_id = case_id
        session.add(row)
