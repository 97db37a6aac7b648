"""Mail that no person wrote: out-of-office replies, bounces, read receipts, bulk mail.

None of it may answer a stage or be answered by us (that is how mail loops start). The
signals, strongest first: a multipart/report (RFC 6522) says exactly what it is; RFC 3834's
Auto-Submitted and the older X-Autoreply, X-Autorespond and Precedence headers; Exchange's
X-MS-Exchange-Inbox-Rules-Loop, which every server-side rule (the out-of-office is one)
adds; a mailer-daemon or postmaster sender; and, for servers that send none of these, a
subject that only an auto-reply or a bounce would have, in English and Welsh.

`bounce_details` reads a bounce for what the IRO must be told: which of our messages did
not arrive (its Message-IDs, from the attached message or its headers) and to whom.
"""

from __future__ import annotations

import contextlib
import email
import re
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum

from mailagent.mail.parse import InboundMessage, decode_header_value, normalise_message_id
from mailagent.mail.references import strip_banners


class AutomatedKind(StrEnum):
    AUTOREPLY = "autoreply"
    BOUNCE = "bounce"
    READ_RECEIPT = "read_receipt"
    FEEDBACK_REPORT = "feedback_report"
    BULK = "bulk"


@dataclass(frozen=True)
class Automated:
    kind: AutomatedKind
    reason: str  # which header or pattern said so; never any of the message's text


@dataclass(frozen=True)
class BounceDetails:
    original_message_ids: tuple[str, ...] = ()
    failed_recipients: tuple[str, ...] = ()
    original_subject: str | None = None  # names the case when the bounce's own subject does not


_REPORT_KINDS = {
    "delivery-status": AutomatedKind.BOUNCE,
    "disposition-notification": AutomatedKind.READ_RECEIPT,
    "feedback-report": AutomatedKind.FEEDBACK_REPORT,
}
_DAEMON_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"^(?:undeliverable|undelivered mail|delivery status notification|mail delivery failed|"
    r"returned mail|delivery failure|failure notice|mail delivery failure|"
    r"delivery has failed|message not delivered|non-delivery|nondeliverable|"
    r"heb ei ddosbarthu|methwyd danfon)",
    re.I,
)
_AUTOREPLY_SUBJECT = re.compile(
    r"^(?:automatic reply|auto[- ]?reply|auto[- ]?response|autoresponse|out of (?:the )?office|"
    r"ooo\b|away from (?:the|my) office|on annual leave|on leave|"
    r"ateb awtomatig|ymateb awtomatig|allan o['’]r swyddfa|i ffwrdd o['’]r swyddfa|"
    r"automatische antwort|abwesenheitsnotiz|réponse automatique|respuesta automática|"
    r"odpowiedź automatyczna|automatyczna odpowiedź)",
    re.I,
)
_READ_RECEIPT_SUBJECT = re.compile(r"^(?:read|not read|wedi['’]i ddarllen|darllenwyd):", re.I)


def detect_automated(msg: InboundMessage) -> Automated | None:
    """What kind of machine-sent mail this is and why we think so, or None for a person."""
    for check in (_by_report, _by_headers, _by_sender, _by_subject):
        found = check(msg)
        if found is not None:
            return found
    return None


def _by_report(msg: InboundMessage) -> Automated | None:
    if not msg.is_multipart_report:
        return None
    kind = _REPORT_KINDS.get((msg.report_type or "").lower(), AutomatedKind.BOUNCE)
    return Automated(kind, f"multipart/report; report-type={msg.report_type or 'missing'}")


def _by_headers(msg: InboundMessage) -> Automated | None:
    headers = msg.headers
    auto_submitted = (headers.get("Auto-Submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return Automated(_autoreply_or_bounce(msg), f"Auto-Submitted: {auto_submitted}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
        if name in headers:
            return Automated(AutomatedKind.AUTOREPLY, f"{name} header")
    if "X-MS-Exchange-Inbox-Rules-Loop" in headers:
        return Automated(AutomatedKind.AUTOREPLY, "X-MS-Exchange-Inbox-Rules-Loop header")
    if "X-MS-Exchange-Message-Is-Ndr" in headers:
        return Automated(AutomatedKind.BOUNCE, "X-MS-Exchange-Message-Is-Ndr header")
    precedence = (headers.get("Precedence") or "").strip().lower()
    if precedence in ("auto_reply", "auto-reply"):
        return Automated(AutomatedKind.AUTOREPLY, f"Precedence: {precedence}")
    if precedence in ("bulk", "junk", "list"):
        kind = _autoreply_or_bounce(msg) if _auto_subject(msg) else AutomatedKind.BULK
        return Automated(kind, f"Precedence: {precedence}")
    return None


def _by_sender(msg: InboundMessage) -> Automated | None:
    if msg.from_addr and _DAEMON_SENDER.match(msg.from_addr):
        return Automated(AutomatedKind.BOUNCE, "sent by a mail server (mailer-daemon/postmaster)")
    return_path = (msg.headers.get("Return-Path") or "").strip()
    if return_path in ("<>", "") and "Return-Path" in msg.headers:
        return Automated(_autoreply_or_bounce(msg), "null sender (Return-Path: <>)")
    return None


def _by_subject(msg: InboundMessage) -> Automated | None:
    subject = strip_banners(msg.subject)
    if _BOUNCE_SUBJECT.match(subject):
        return Automated(AutomatedKind.BOUNCE, "subject of a delivery failure")
    if _AUTOREPLY_SUBJECT.match(subject):
        return Automated(AutomatedKind.AUTOREPLY, "subject of an automatic reply")
    if _READ_RECEIPT_SUBJECT.match(subject):
        return Automated(AutomatedKind.READ_RECEIPT, "subject of a read receipt")
    return None


def _auto_subject(msg: InboundMessage) -> bool:
    subject = strip_banners(msg.subject)
    return bool(_BOUNCE_SUBJECT.match(subject) or _AUTOREPLY_SUBJECT.match(subject))


def _autoreply_or_bounce(msg: InboundMessage) -> AutomatedKind:
    daemon = bool(msg.from_addr and _DAEMON_SENDER.match(msg.from_addr))
    if daemon or _BOUNCE_SUBJECT.match(strip_banners(msg.subject)):
        return AutomatedKind.BOUNCE
    return AutomatedKind.AUTOREPLY


# Bounces -----------------------------------------------------------------------------

# Postfix and Exim list each failed address on a line of its own: "<x@example.test>: ..."
# or "  x@example.test" under "failed:".
_TEXT_RECIPIENT = re.compile(r"^\s*<([^<>\s@]+@[^<>\s]+)>:?", re.M)


def bounce_details(msg: InboundMessage) -> BounceDetails:
    """Our original Message-IDs and the failed recipients named in a bounce; never raises."""
    originals: list[Message] = []
    recipients: list[str] = []
    with contextlib.suppress(Exception):  # a damaged bounce still gets the text fallback
        originals, recipients = _report_parts(email.message_from_bytes(msg.raw))
    if not originals:  # old servers paste the original below a line of text
        pasted = re.search(r"^(?:Return-Path|Received|From|Message-ID):", msg.text, re.I | re.M)
        originals = [email.message_from_string(msg.text[pasted.start():])] if pasted else []
    ids = [i for original in originals for i in _original_ids(original)]
    if not recipients:
        recipients = [a.lower() for a in _TEXT_RECIPIENT.findall(msg.text)]
        recipients += [a.lower() for a in _header_list(msg, "X-Failed-Recipients")]
    subjects = [str(o.get("Subject")) for o in originals if o.get("Subject") is not None]
    return BounceDetails(
        tuple(dict.fromkeys(ids)),
        tuple(dict.fromkeys(recipients)),
        decode_header_value(subjects[0]) if subjects else None,
    )


def _report_parts(mime: Message) -> tuple[list[Message], list[str]]:
    """The returned original (or its headers) and the failed recipients of a report."""
    originals: list[Message] = []
    recipients: list[str] = []
    for part in mime.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            originals += [m for m in part.get_payload() or [] if isinstance(m, Message)]
        elif content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            originals.append(email.message_from_bytes(part.get_payload(decode=True) or b""))
        elif content_type in ("message/delivery-status", "message/global-delivery-status"):
            recipients += _failed_recipients(part)
    return originals, recipients


def _original_ids(original: Message) -> list[str]:
    ids = [
        normalise_message_id(str(original.get(name, "")))
        for name in ("Message-ID", "X-Microsoft-Original-Message-ID")
    ]
    return [i for i in ids if i]


def _failed_recipients(part: Message) -> list[str]:
    """Final-Recipient of each per-recipient block whose Action is "failed" (RFC 3464)."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # some servers send it as one text blob
        text = str(blocks)
        blocks = [email.message_from_string(b) for b in re.split(r"\r?\n\r?\n", text)]
    failed = []
    for block in blocks:
        action = str(block.get("Action", "")).strip().lower()
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        if action == "failed" and recipient:
            failed.append(recipient.split(";", 1)[-1].strip().strip("<>").lower())
    return failed


def _header_list(msg: InboundMessage, name: str) -> list[str]:
    values = " ".join(msg.headers.get_all(name))
    return [a.strip("<> ") for a in re.split(r"[\s,]+", values) if "@" in a]

