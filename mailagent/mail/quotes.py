"""What the person actually wrote: an email's new text without the quoted history.

mail-parser-reply (the maintained successor of email_reply_parser) finds the usual quote
headers: "On ... wrote:", Outlook's "From: / Sent: / To: / Subject:" block and
"-----Original Message-----", in several languages. This module adds what it misses for a
council in England and Wales: the HTML boundaries that Outlook, Gmail, Apple Mail and
Thunderbird mark (more reliable than any text pattern), Welsh and Polish Outlook headers,
forwarded-message separators, ``>`` quoted lines, and phone signatures such as
"Sent from my iPhone".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

from mailagent.mail.html import html_to_text

# Languages whose quote headers need two or more header lines, so ordinary lines such as
# "Do: ..." cannot cut a reply short (the library's Polish pattern needs only one line).
_PARSER = EmailReplyParser(languages=["en", "de", "fr", "es", "nl"])

_EXTRA_BOUNDARIES = re.compile(
    "|".join(
        (
            # Gmail in Welsh: "Ar Maw, 1 Rhag 2026 am 10:02 Siân Llŷr <...> ysgrifennodd:"
            r"^[> ]*Ar\s.{4,200}?\sysgrifennodd.{0,200}?:[ \t]*$",
            # Outlook in Welsh and Polish: two or more header lines
            r"^[> *]*(?:Oddi wrth|From)\s*:.*\n[> *]*(?:Anfonwyd|Dyddiad|Sent|Date)\s*:",
            r"^[> *]*Od\s*:.*\n[> *]*(?:Wysłano|Data)\s*:",
            # forwarded messages (Gmail, Apple Mail, Thunderbird, Outlook)
            r"^[> ]*-{2,}\s*Forwarded message\s*-{2,}[ \t]*$",
            r"^[> ]*-{2,}\s*(?:Original|Forwarded) Message\s*-{2,}[ \t]*$",
            r"^[> ]*Begin forwarded message:[ \t]*$",
            r"^[> ]*-{2,}\s*Neges wreiddiol\s*-{2,}[ \t]*$",
        )
    ),
    re.IGNORECASE | re.MULTILINE,
)
_DEVICES = (
    "iPhone|iPad|iPod|Android|Samsung|Galaxy|Huawei|BlackBerry|Windows|Sony|Xperia|Pixel|"
    "Google|Motorola|Nokia|HTC|LG|OnePlus|Xiaomi|Fairphone|Surface|mobile|phone|smartphone|"
    "tablet|Apple"
)
# Lines that phone and web clients append; matched whole so a sentence is never cut.
_PHONE_SIGNATURE = re.compile(
    r"^[ \t]*(?:"
    r"Sent from my (?:" + _DEVICES + r")\b.{0,40}"
    r"|Sent from (?:Outlook|Mail|Yahoo Mail)\b.{0,40}"
    r"|Get Outlook for (?:iOS|Android|Mac|Windows)\b.{0,60}"
    r"|Sent from Outlook for (?:iOS|Android)\b.{0,60}"
    r"|Sent from my Samsung Galaxy smartphone\.?"
    r"|Sent via the Samsung Galaxy.{0,60}"
    r"|Anfonwyd o(?:['’]r| fy) (?:" + _DEVICES + r")\b.{0,40}"
    r")[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SLOW_FOR_LIBRARY = re.compile(r"^[^\n]{160,}$|[ \t]{20,}", re.MULTILINE)
_TRAILING_RULES = re.compile(r"(?:\n[ \t]*[_\-=]{8,}[ \t]*)+\s*\Z")

# HTML elements that clients put around the quoted history.
_QUOTE_IDS = {
    "divrplyfwdmsg", "appendonsend", "stopspelling", "mail-editor-reference-message-container",
    "olk_src_body_section",
}
_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote")


@dataclass(frozen=True)
class ReplySplit:
    text: str  # the new text only
    quoted: bool  # whether quoted history (or a forwarded email) was found and removed


def extract_reply_text(text: str, html: str | None = None) -> str:
    """The new text of an email, without quoted history and phone signatures."""
    return split_reply(text, html).text


def split_reply(text: str, html: str | None = None) -> ReplySplit:
    """The new text, and whether there was quoted history below (or around) it."""
    cut = find_html_quote_start(html) if html else None
    if html and cut is not None:  # "html and" only tells the type checker what cut implies
        new, _ = _split_text(html_to_text(html[:cut]))
        return ReplySplit(new, True)
    return ReplySplit(*_split_text(text or ""))


def _split_text(text: str) -> tuple[str, bool]:
    text = _normalise(text)
    cuts = [c for c in (_extra_boundary(text), _library_boundary(text)) if c is not None]
    new = text[: min(cuts)] if cuts else text
    without_quotes = "\n".join(line for line in new.split("\n") if not line.startswith(">"))
    return _tidy(without_quotes), bool(cuts) or without_quotes != new


def _normalise(text: str) -> str:
    """Unix line ends, no spaces around lines, never more than one blank line in a row."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _extra_boundary(text: str) -> int | None:
    found = _EXTRA_BOUNDARIES.search(text)
    return found.start() if found else None


def _library_boundary(text: str) -> int | None:
    """Where mail-parser-reply sees the first quote header, or None.

    Its patterns take quadratic time on long lines and long runs of spaces (a 4,000
    character paragraph starting "On" costs a third of a second), so it reads a copy in
    which those are x'd out, keeping every offset; quote header lines are shorter.
    """
    shielded = _SLOW_FOR_LIBRARY.sub(lambda m: "x" * len(m[0]), text)
    replies = _PARSER.read(shielded).replies
    header = replies[0].headers or (replies[1].headers if len(replies) > 1 else "")
    at = shielded.find(header) if header else -1
    return at if at >= 0 else None


def _tidy(text: str) -> str:
    text = _PHONE_SIGNATURE.sub("", text)
    text = _TRAILING_RULES.sub("", "\n" + text.strip())
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class _QuoteFinder(HTMLParser):
    """Stops at the first element that a mail client wraps around quoted history."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.position: tuple[int, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.position is None and _is_quote_element(tag, dict(attrs)):
            self.position = self.getpos()
            raise _Found


class _Found(Exception):
    """Stops html.parser at the first quote element; the rest need not be read."""


def _is_quote_element(tag: str, attrs: dict[str, str | None]) -> bool:
    element_id = re.sub(r"^(?:x_)+", "", (attrs.get("id") or "").lower())
    classes = (attrs.get("class") or "").lower().split()
    return (
        element_id in _QUOTE_IDS
        or any(c.startswith(_QUOTE_CLASSES) for c in classes)
        or (tag == "blockquote" and (attrs.get("type") or "").lower() == "cite")
    )


def find_html_quote_start(html: str) -> int | None:
    """Offset in `html` of the element that starts the quoted history, or None."""
    finder = _QuoteFinder()
    try:
        finder.feed(html)
        finder.close()
    except _Found:
        pass
    except Exception:  # html.parser gives up on some broken markup: fall back to text rules
        return None
    if finder.position is None:
        return None
    line, column = finder.position
    starts = [0]
    for found in re.finditer("\n", html):
        starts.append(found.end())
    return starts[line - 1] + column if line - 1 < len(starts) else None
