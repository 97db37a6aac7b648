"""Outlook's own formats, read with maintained libraries: an Outlook item (.msg file) and
TNEF (the winmail.dat attachment of Outlook's "rich text" email).

- A .msg file is an OLE compound document, not an email: someone saved an item from
  Outlook and dropped it into the mailbox. extract-msg (the optional `outlook` extra)
  reads it into the email it holds (the transport headers Outlook kept when it received
  the item, else headers made from the item's properties), so `mailagent inspect` can
  say what it is; it carries no receiving server's record of where it came from, so it
  is never acted on.
- TNEF: Exchange sends Outlook's rich-text email with its text (plain, HTML, or compressed
  RTF) and its attachments inside winmail.dat. tnefparse reads it; compressed RTF is
  unpacked by compressed-rtf, the HTML or text that Outlook wraps in RTF is taken out by
  RTFDE, and RTF written as RTF is made text by striprtf.

Neither function raises: what cannot be read comes back with the reason, in words for
the person who will look at it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from email.message import Message

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # every OLE compound document starts so
TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
ITEM_HELD = ("an Outlook item (.msg file) dropped into the mailbox, not an email as it "
             "arrived: it is read for inspection but never acted on; forward the email "
             "from Outlook instead")

# The libraries log at warning level about every oddity of real-world files, sometimes
# with what they read (names, subjects), and logs must hold no personal data: what
# matters is reported in the result instead.
for _name in ("extract_msg", "tnefparse", "RTFDE"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def is_ole_file(raw: bytes) -> bool:
    return raw[:8] == OLE_SIGNATURE


@dataclass(frozen=True)
class Item:
    """What an OLE file dropped into the mailbox holds."""

    email: bytes | None  # the RFC 822 email it holds, if it is an Outlook item
    problem: str  # what it is, and why it could not be read if it could not


def read_item(raw: bytes) -> Item:
    """The email an Outlook item holds, and a sentence saying what the file is."""
    try:
        import extract_msg
        from extract_msg.exceptions import InvalidFileFormatError
    except ImportError:  # the optional `outlook` extra (GPL-3.0) is not installed
        return Item(None, "an Outlook item (.msg file), which this installation cannot "
                          "read (install mailagent[outlook])")
    try:
        item = extract_msg.openMsg(raw, strict=True, delayAttachments=True)
    except InvalidFileFormatError:
        return Item(None, "an Office document (an OLE compound file, such as a .doc or "
                          ".xls), not an email")
    except Exception as exc:  # a damaged file: say what it is and that it is damaged
        return Item(None, f"an Outlook item (.msg file) that is damaged and cannot be read "
                          f"({type(exc).__name__})")
    try:
        email = item.asEmailMessage()
        for name in {name for name, value in email.items() if not str(value).strip()}:
            del email[name]  # headers made from properties the item does not have
        if "Subject" not in email:
            email["Subject"] = item.subject or ""
        return Item(email.as_bytes(), "the email was read from " + ITEM_HELD)
    except Exception as exc:  # an item that is not an email (a contact, a task ...)
        kind = getattr(item, "classType", None) or "unknown"
        return Item(None, f"an Outlook item (.msg file) of class {kind!r} that holds no "
                          f"email ({type(exc).__name__})")
    finally:
        with contextlib.suppress(Exception):
            item.close()


@dataclass
class Tnef:
    """What a winmail.dat holds: its text and HTML, its attachments, or why not."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[tuple[str, int]] = field(default_factory=list)  # (file name, size)
    problems: list[str] = field(default_factory=list)


def read_tnef(part: Message) -> Tnef:
    """The text, HTML and attachments inside a winmail.dat part; never raises."""
    from tnefparse import TNEF

    try:
        tnef = TNEF(part.get_payload(decode=True), do_checksum=False)
    except Exception as exc:
        return Tnef(problems=[f"the text is inside a winmail.dat attachment (Outlook rich "
                              f"text) that is damaged and cannot be read ({type(exc).__name__}):"
                              " ask the sender to send in HTML or plain text"])
    text, html = _as_text(tnef.body), _as_text(tnef.htmlbody)
    if not (text or html) and tnef.rtfbody:
        html, text = _from_rtf(tnef.rtfbody)
    files = [(a.long_filename() or "attachment", len(a.data or b"")) for a in tnef.attachments]
    found = Tnef([text] if text.strip() else [], [html] if html.strip() else [], files)
    if not (found.texts or found.htmls):
        found.problems.append("the winmail.dat attachment (Outlook rich text) holds no text: "
                              "ask the sender to send in HTML or plain text")
    return found


def _as_text(value: object) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        for charset in ("utf-8", "windows-1252"):
            with contextlib.suppress(UnicodeDecodeError):
                return value.decode(charset).rstrip("\x00")
    return str(value or "").rstrip("\x00")


def _from_rtf(rtf: bytes) -> tuple[str, str]:
    """(html, text) from Outlook's RTF: what it wraps, else the RTF made plain text."""
    from RTFDE.deencapsulate import DeEncapsulator
    from striprtf.striprtf import rtf_to_text

    with contextlib.suppress(Exception):  # not wrapped HTML or text: plain RTF below
        wrapped = DeEncapsulator(rtf)
        wrapped.deencapsulate()
        if wrapped.content_type == "html":
            return _as_text(wrapped.html), ""
        return "", _as_text(wrapped.text)
    try:
        return "", rtf_to_text(rtf.decode("latin-1"), errors="ignore")
    except Exception:  # RTF that no reader understands: the caller reports no text
        return "", ""
