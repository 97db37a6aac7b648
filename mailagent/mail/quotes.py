"""What the person actually wrote: an email's new text without the quoted history.

The HTML says it best when a client marks the history (`quote_html`): the marked elements
are taken out and the rest read as text. Otherwise the text is read line by line
(`quote_boundaries`): a header block or separator ends what the person wrote; an
attribution line ("On ... wrote:", in any language) followed by ">" quoted lines goes with
them, and the person's words may go on below the quote (bottom-posting) or between its
parts (interleaved answers). Phone signatures ("Sent from my iPhone") go too.

An email that is not empty never comes out empty without saying so: when no words of the
sender's own are found outside the history (a bare forward, a reply typed inside the
quote), `ReplySplit.whole` keeps all of it with the history marked "> ", and `notes` says
what happened, for `mailagent inspect` and the case record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailagent.mail.html import html_to_text
from mailagent.mail.quote_boundaries import boundaries
from mailagent.mail.quote_html import marked_text, quote_spans, without_quotes
from mailagent.mail.references import ANY_MARKER_RE

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
_TRAILING_RULES = re.compile(r"(?:\n[ \t]*[_\-=]{8,}[ \t]*)+\s*\Z")
BELOW = "the sender wrote below (or between) the quoted lines"
WHOLE = ("no words of the sender's own were found outside the quoted history: the whole "
         "text is kept, the quoted part marked with >")


@dataclass(frozen=True)
class ReplySplit:
    text: str  # the sender's own words; "" when none were found
    quoted: bool  # whether quoted history (or a forwarded email) was found and removed
    whole: str = ""  # when `text` is empty and the email is not: all of it, history marked
    notes: tuple[str, ...] = ()  # what a person reading the result should know

    @property
    def for_record(self) -> str:
        """What to keep as the sender's reply: their words, else the marked whole."""
        return self.text or self.whole


@dataclass(frozen=True)
class _Read:
    text: str
    quoted: bool
    below: bool
    cut: int  # where the unmarked history starts in the normalised text
    normalised: str


def extract_reply_text(text: str, html: str | None = None) -> str:
    """The new text of an email, without quoted history and phone signatures."""
    return split_reply(text, html).text


def split_reply(text: str, html: str | None = None) -> ReplySplit:
    """The sender's words, whether there was history around them, and notes on how."""
    spans = quote_spans(html) if html else []
    if html and spans:
        read = _read_text(html_to_text(without_quotes(html, spans)))
        whole = "" if read.text else _normalise(marked_text(html, spans))
        return _result(read, True, whole)
    read = _read_text(text or "")
    whole = "" if read.text else _mark_from(read.normalised, read.cut)
    return _result(read, read.quoted, whole)


def _result(read: _Read, quoted: bool, whole: str) -> ReplySplit:
    notes = [BELOW] if read.below and read.text else []
    if whole:
        notes.append(WHOLE)
    return ReplySplit(read.text, quoted, whole, tuple(notes))


def _read_text(text: str) -> _Read:
    """The sender's lines: above the first boundary that cuts, outside ">" quotes."""
    text = _normalise(text)
    cut, removed = len(text), []
    for boundary in boundaries(text):
        if boundary.start >= cut or any(s <= boundary.start < e for s, e in removed):
            continue
        if text.startswith(">", boundary.start):
            continue  # inside the history already
        if _quote_follows(text, boundary.end):
            removed.append((boundary.start, boundary.end))
        elif boundary.cuts:
            cut = boundary.start
            break
    cut = _above_rules(text, cut)
    head, at = [], 0
    for start, end in removed:
        head.append(text[at:start] + ">")  # an attribution is part of the history
        at = end
    lines = "".join([*head, text[at:cut]]).split("\n")
    first_quote = next((i for i, line in enumerate(lines) if line.startswith(">")), len(lines))
    quoted = cut < len(text) or first_quote < len(lines)
    below = "\n".join(line for line in lines[first_quote:] if not line.startswith(">"))
    if ANY_MARKER_RE.search(below):  # our email went on below its quoted first lines
        lines, below = lines[:first_quote], ""
    new = _tidy("\n".join(line for line in lines if not line.startswith(">")))
    return _Read(new, quoted, bool(_tidy(below)), cut, text)


_RULES_ABOVE = re.compile(r"(?:^[ \t]*[_\-=]{8,}[ \t]*\n+)+\Z", re.MULTILINE)


def _above_rules(text: str, cut: int) -> int:
    """`cut` moved up over the rule lines (Outlook's underscores) just above it."""
    if cut >= len(text):
        return cut
    rules = _RULES_ABOVE.search(text, 0, cut)
    return rules.start() if rules else cut


_NEXT_LINE = re.compile(r"\n[ \t]*(?=\S)")


def _quote_follows(text: str, at: int) -> bool:
    """Whether the next line with anything on it, after `at`, is a ">" quoted line."""
    match = _NEXT_LINE.search(text, at)
    return bool(match) and text.startswith(">", match.end())


def _mark_from(text: str, cut: int) -> str:
    """The whole text with the lines from `cut` on marked as quoted."""
    if not text.strip():
        return ""
    quoted = [line if line.startswith(">") else f"> {line}".rstrip()
              for line in text[cut:].split("\n")] if cut < len(text) else []
    return "\n".join([text[:cut].rstrip("\n"), *quoted]).strip()


def _normalise(text: str) -> str:
    """Unix line ends, no spaces around lines, never more than one blank line in a row."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _tidy(text: str) -> str:
    text = _PHONE_SIGNATURE.sub("", text)
    text = _TRAILING_RULES.sub("", "\n" + text.strip())
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def find_html_quote_start(html: str) -> int | None:
    """Offset in `html` of the first element that holds or starts quoted history, or None."""
    spans = quote_spans(html)
    return spans[0].start if spans else None


def excerpt(text: str, limit: int = 700) -> str:
    """The start of what someone wrote, for a notice or a report: at most `limit`
    characters, cut at a word and marked "[...]", runs of blank lines squeezed."""
    text = re.sub(r"\n{3,}", "\n\n", (text or "").strip())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " [...]"
