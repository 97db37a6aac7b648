"""What a bounce says: which of our messages did not arrive (its Message-IDs, from the
attached message or its headers), to whom, and what each recipient's delivery came to.

Read from the delivery status report (RFC 3464) when there is one, else from the text
that older servers (qmail, Exim without DSNs) write, with the original pasted below it.
"""

from __future__ import annotations

import contextlib
import email
import re
from dataclasses import dataclass
from email.message import Message

from mailagent.mail.parse import InboundMessage, decode_header_value, normalise_message_id

_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
# Postfix and Exim list each failed address on a line of its own: "<x@example.test>: ..."
_TEXT_RECIPIENT = re.compile(r"^\s*<([^<>\s@]+@[^<>\s]+)>:?", re.M)
_PASTED_HEADERS = re.compile(r"^(?:Return-Path|Received|From|Message-ID):", re.I | re.M)


@dataclass(frozen=True)
class BounceDetails:
    original_message_ids: tuple[str, ...] = ()
    failed_recipients: tuple[str, ...] = ()
    original_subject: str | None = None  # names the case when the bounce's own subject does not


@dataclass(frozen=True)
class _Recipient:
    address: str
    action: str  # failed, delayed, delivered, relayed or expanded (RFC 3464 section 2.3.3)


def bounce_details(msg: InboundMessage) -> BounceDetails:
    """Our original Message-IDs and the failed recipients named in a bounce; never raises."""
    originals: list[Message] = []
    recipients: list[_Recipient] = []
    with contextlib.suppress(Exception):  # a damaged bounce still gets the text fallback
        originals, recipients = _report_parts(email.message_from_bytes(msg.raw))
    if not originals:  # old servers paste the original below a line of text
        pasted = _PASTED_HEADERS.search(msg.text)
        originals = [email.message_from_string(msg.text[pasted.start():])] if pasted else []
    ids = [i for original in originals for i in _original_ids(original)]
    failed = [r.address for r in recipients if r.action == "failed"]
    if not recipients:
        failed = [a.lower() for a in _TEXT_RECIPIENT.findall(msg.text)]
        failed += [a.lower() for a in _header_list(msg, "X-Failed-Recipients")]
    subjects = [str(o.get("Subject")) for o in originals if o.get("Subject") is not None]
    return BounceDetails(
        tuple(dict.fromkeys(ids)),
        tuple(dict.fromkeys(failed)),
        decode_header_value(subjects[0]) if subjects else None,
    )


def report_actions(msg: InboundMessage) -> frozenset[str]:
    """The Action of every recipient in a delivery status report; empty if unreadable."""
    try:
        _, recipients = _report_parts(email.message_from_bytes(msg.raw))
    except Exception:  # a damaged report: the caller takes it for a bounce
        return frozenset()
    return frozenset(r.action for r in recipients if r.action)


def _report_parts(mime: Message) -> tuple[list[Message], list[_Recipient]]:
    """The returned original (or its headers) and the recipients of a report."""
    originals: list[Message] = []
    recipients: list[_Recipient] = []
    for part in mime.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            originals += [m for m in part.get_payload() or [] if isinstance(m, Message)]
        elif content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            originals.append(email.message_from_bytes(part.get_payload(decode=True) or b""))
        elif content_type in _STATUS_TYPES:
            recipients += _recipients(part)
    return originals, recipients


def _original_ids(original: Message) -> list[str]:
    ids = [
        normalise_message_id(str(original.get(name, "")))
        for name in ("Message-ID", "X-Microsoft-Original-Message-ID")
    ]
    return [i for i in ids if i]


def _recipients(part: Message) -> list[_Recipient]:
    """Final-Recipient and Action of each per-recipient block (RFC 3464 section 2.3)."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # some servers send it as one text blob
        text = str(blocks)
        blocks = [email.message_from_string(b) for b in re.split(r"\r?\n\r?\n", text)]
    found = []
    for block in blocks:
        action = str(block.get("Action", "")).strip().lower()
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        if action and recipient:
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            found.append(_Recipient(address, action.split()[0]))
    return found


def _header_list(msg: InboundMessage, name: str) -> list[str]:
    values = " ".join(msg.headers.get_all(name))
    return [a.strip("<> ") for a in re.split(r"[\s,]+", values) if "@" in a]
