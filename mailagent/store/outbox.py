"""The outbox: every email is queued in the database first, then delivered by a separate step.

Queueing happens in the same transaction as the state change that caused the email, so a
crash can never leave a decision made but its email lost. Delivery marks a row `sending`
before it talks to the server and `sent` once the server accepted it; a row found still
`sending` after a crash is sent again (at least once). A retry after a refused attempt is
safe because a refused message was not accepted. Each row has a dedupe key, so the same
decision queued twice (a repeated sweep, a re-read message) yields one email.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.clock import Clock
from mailagent.store.models import MessageRef, Outbound
from mailagent.transports.base import PermanentFailure, TemporaryFailure, Transport
from mailagent.transports.smtp import PartialDelivery

log = logging.getLogger(__name__)


# CRLF line ends, because SMTP sends bytes as they are and a server reads LF-only mail as one
# over-long line; and headers folded only past RFC 5322's hard limit, because Python folds a
# long subject straight after "Subject:" and readers then see it with a leading space.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class OutgoingEmail:
    """An email ready to queue: addresses, subject and both bodies, already rendered."""

    to: list[str]
    subject: str
    text: str
    html: str | None = None
    cc: list[str] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    automated: bool = False
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Sender:
    """Who our mail comes from: the shared mailbox."""

    address: str
    display_name: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"


def queue_email(
    session: Session,
    email: OutgoingEmail,
    *,
    sender: Sender,
    purpose: str,
    dedupe_key: str,
    now: datetime,
    not_before: datetime | None = None,
    case_id: int | None = None,
) -> Outbound:
    """Add `email` to the outbox in the caller's transaction; once per dedupe key."""
    existing = session.exec(select(Outbound).where(Outbound.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return existing
    message_id = make_msgid(domain=sender.domain)
    row = Outbound(
        dedupe_key=dedupe_key,
        message_id=message_id,
        case_id=case_id,
        purpose=purpose,
        recipients=_unique(email.to + email.cc),
        raw=compose(email, sender, message_id, now),
        created_at=now,
        not_before=not_before or now,
    )
    session.add(row)
    if case_id is not None:
        session.add(MessageRef(message_id=message_id, case_id=case_id, direction="out"))
    session.flush()
    return row


def compose(email: OutgoingEmail, sender: Sender, message_id: str, now: datetime) -> bytes:
    """The MIME bytes: threading headers, and auto-reply suppression on automated mail."""
    msg = EmailMessage()
    msg["From"] = formataddr((sender.display_name, sender.address))
    msg["Reply-To"] = sender.address
    msg["To"] = ", ".join(email.to)
    if email.cc:
        msg["Cc"] = ", ".join(email.cc)
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if email.in_reply_to:
        msg["In-Reply-To"] = email.in_reply_to
    if email.references:
        msg["References"] = " ".join(email.references)
    if email.automated:
        # RFC 3834, and Exchange's own switch: no out-of-office replies back to us.
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(email.text)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    for item in email.attachments:
        maintype, _, subtype = item.content_type.partition("/")
        msg.add_attachment(
            item.content, maintype=maintype, subtype=subtype, filename=item.filename
        )
    return msg.as_bytes(policy=WIRE_POLICY)


@dataclass(frozen=True)
class Undelivered:
    """An email some recipients will never get: refused for good, or retried too often."""

    outbound_id: int
    recipients: list[str]
    reason: str


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: list[int] = field(default_factory=list)


def deliver_due(
    engine: sa.Engine,
    transport: Transport,
    clock: Clock,
    sender: Sender,
    *,
    max_attempts: int = 8,
    backoff_seconds: float = 60.0,
    backoff_max_seconds: float = 3600.0,
    on_undelivered: Callable[[Undelivered], object] | None = None,
) -> DeliveryReport:
    """Send every queued email whose time has come; record each outcome as it happens.

    `on_undelivered` hears of every email (or part of one) that will not arrive, after it
    is recorded, so that someone can be told.
    """
    sent = retrying = 0
    failed: list[int] = []

    def undelivered(row_id: int, recipients: list[str], reason: str) -> None:
        if on_undelivered is None:
            return
        try:
            on_undelivered(Undelivered(row_id, recipients, reason))
        except Exception:  # telling someone must not stop the rest of the queue
            log.exception("outbox row %s: could not report the failure", row_id,
                          extra={"outbound_id": row_id})

    for row_id in _due_ids(engine, clock.now()):
        row = _claim(engine, row_id)
        if row is None:
            continue
        try:
            transport.send(sender.address, list(row.recipients), row.raw, row.message_id)
        except PartialDelivery as exc:
            _finish(engine, row_id, status="sent", error=str(exc), at=clock.now())
            sent += 1
            undelivered(row_id, list(exc.refused), str(exc))
        except PermanentFailure as exc:
            _finish(engine, row_id, status="failed", error=str(exc), at=None)
            failed.append(row_id)
            undelivered(row_id, list(row.recipients), str(exc))
        except TemporaryFailure as exc:
            if row.attempts >= max_attempts:
                _finish(engine, row_id, status="failed", error=str(exc), at=None)
                failed.append(row_id)
                undelivered(row_id, list(row.recipients), f"gave up after {row.attempts} "
                            f"attempts: {exc}")
            else:
                delay = min(backoff_seconds * 2 ** (row.attempts - 1), backoff_max_seconds)
                _retry_later(engine, row_id, str(exc), clock.now() + timedelta(seconds=delay))
                retrying += 1
        else:
            _finish(engine, row_id, status="sent", error=None, at=clock.now())
            sent += 1
    return DeliveryReport(sent=sent, retrying=retrying, failed=failed)


def _due_ids(engine: sa.Engine, now: datetime) -> list[int]:
    # A row still `sending` was interrupted by a crash: it was never confirmed, so it is due.
    with Session(engine) as session:
        query = (
            select(Outbound.id)
            .where(Outbound.status.in_(("queued", "sending")), Outbound.not_before <= now)
            .order_by(Outbound.id)
        )
        return [row_id for row_id in session.exec(query) if row_id is not None]


def _claim(engine: sa.Engine, row_id: int) -> Outbound | None:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Outbound, row_id)
        if row is None or row.status not in ("queued", "sending"):
            return None
        row.status = "sending"
        row.attempts += 1
        session.add(row)
        session.commit()
        return row


def _finish(
    engine: sa.Engine, row_id: int, *, status: str, error: str | None, at: datetime | None
) -> None:
    with Session(engine) as session:
        row = session.get(Outbound, row_id)
        assert row is not None
        row.status, row.last_error, row.sent_at = status, error, at
        session.add(row)
        session.commit()
    level = logging.WARNING if status == "failed" else logging.INFO
    log.log(level, "outbox row %s: %s", row_id, status, extra={"outbound_id": row_id})


def _retry_later(engine: sa.Engine, row_id: int, error: str, when: datetime) -> None:
    with Session(engine) as session:
        row = session.get(Outbound, row_id)
        assert row is not None
        row.status, row.last_error, row.not_before = "queued", error, when
        session.add(row)
        session.commit()
    log.info("outbox row %s: will retry", row_id, extra={"outbound_id": row_id})


def _unique(addresses: list[str]) -> list[str]:
    """Envelope recipients: bare addresses from "Name <addr>" forms, each once."""
    seen: dict[str, None] = {}
    for _, address in getaddresses(addresses):
        if address:
            seen.setdefault(address.lower(), None)
    return list(seen)
