"""The outbox: every email is queued in the database first, then delivered by a separate step
(`delivery`).

Queueing happens in the same transaction as the state change that caused the email, so a
crash can never leave a decision made but its email lost. Each row has a dedupe key, so the
same decision queued twice (a repeated sweep, a re-read message) yields one email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid

from sqlmodel import Session, select

from mailagent.store.models import MessageRef, Outbound

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


def _unique(addresses: list[str]) -> list[str]:
    """Envelope recipients: bare addresses from "Name <addr>" forms, each once."""
    seen: dict[str, None] = {}
    for _, address in getaddresses(addresses):
        if address:
            seen.setdefault(address.lower(), None)
    return list(seen)
