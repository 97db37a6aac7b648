"""The quoted history in a reply's HTML: the elements mail clients wrap around it.

Two shapes:
- a marker after which everything is history, as Outlook writes it: ``divRplyFwdMsg``,
  ``appendonsend``, the ``stopSpelling`` rule, the bordered header block of Outlook for
  Windows and Mac (``border-top:solid #E1E1E1`` or ``#B5C4DF``), Outlook for Mac's
  ``OLK_SRC_BODY_SECTION`` and ``MAC_OUTLOOK_ATTRIBUTION_BLOCK``, Outlook mobile's
  reference container, Zimbra's ``zwchr`` rule;
- an element that holds the history and nothing else, so a reply written below it (or
  between its parts) is still found: Gmail's ``gmail_quote``, Thunderbird's
  ``moz-cite-prefix`` and every ``<blockquote type="cite">``, Yahoo's ``yahoo_quoted``,
  Proton's ``protonmail_quote``, Zoho's ``zmail_extra``; and a plain ``<blockquote>`` (as
  Mail.ru, Yandex and some webmail write it) when it follows an attribution line or holds
  our case marker; a person's own indented paragraph is neither.

html.parser finds each element's start; its end is found by counting its tag's opening
and closing tags, so the history itself is never parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from mailagent.mail.html import html_to_text
from mailagent.mail.references import ANY_MARKER_RE

_CUT_IDS = {
    "divrplyfwdmsg", "appendonsend", "stopspelling", "mail-editor-reference-message-container",
    "olk_src_body_section", "mac_outlook_attribution_block", "zwchr",
}
_OUTLOOK_BORDER = re.compile(r"border-top\s*:\s*solid\s+#(?:e1e1e1|b5c4df)\s+1(?:\.0)?pt", re.I)
_HOLDING_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote",
                    "zmail_extra")
_ATTRIBUTION = re.compile(r"(?:@|\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b)[^\n]*[:：]\s*$")
PLACEHOLDER = "<div>&gt;</div>"  # where a holding element was: a quoted line for the text


@dataclass(frozen=True)
class Span:
    start: int
    end: int


class _Found(Exception):
    """Stops html.parser at a quote element; the rest need not be read."""

    def __init__(self, tag: str, cuts: bool, plain: bool) -> None:
        super().__init__(tag)
        self.tag, self.cuts, self.plain = tag, cuts, plain


class _QuoteFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = _quote_kind(tag, dict(attrs))
        if found is not None:
            raise _Found(tag, *found)

    handle_startendtag = handle_starttag


def _quote_kind(tag: str, attrs: dict[str, str | None]) -> tuple[bool, bool] | None:
    """(cuts everything after, is a plain blockquote) for a quote element, else None."""
    element_id = re.sub(r"^(?:x_)+", "", (attrs.get("id") or "").lower())
    if element_id in _CUT_IDS:
        return True, False
    if tag == "div" and _OUTLOOK_BORDER.search(attrs.get("style") or ""):
        return True, False
    classes = [re.sub(r"^(?:x_)+", "", c) for c in (attrs.get("class") or "").lower().split()]
    if any(c.startswith(_HOLDING_CLASSES) for c in classes):
        return False, False
    if tag == "blockquote":
        return False, (attrs.get("type") or "").lower() != "cite"
    return None


def quote_spans(html: str) -> list[Span]:
    """The quoted history's spans in `html`, in order; empty if none is marked."""
    spans: list[Span] = []
    at = 0
    while at < len(html):
        found = _next_quote(html, at)
        if found is None:
            break
        start, error = found
        if error.cuts:
            spans.append(Span(start, len(html)))
            break
        end = _element_end(html, start, error.tag)
        if not error.plain or _is_history(html, spans, start, end):
            spans.append(Span(start, end))
        at = end if end > start else start + 1
    return spans


def without_quotes(html: str, spans: list[Span]) -> str:
    """`html` with each span replaced by a placeholder quoted line."""
    pieces, at = [], 0
    for span in spans:
        pieces += [html[at:span.start], PLACEHOLDER]
        at = span.end
    return "".join([*pieces, html[at:]])


def marked_text(html: str, spans: list[Span]) -> str:
    """The whole text, the quoted spans' lines marked with "> "."""
    pieces, at = [], 0
    for span in spans:
        pieces.append(html_to_text(html[at:span.start]))
        quoted = html_to_text(html[span.start:span.end])
        pieces.append("\n".join(f"> {line}".rstrip() for line in quoted.split("\n")))
        at = span.end
    pieces.append(html_to_text(html[at:]))
    return "\n".join(piece for piece in pieces if piece)


def _next_quote(html: str, at: int) -> tuple[int, _Found] | None:
    finder = _QuoteFinder()
    try:
        finder.feed(html[at:])
        finder.close()
    except _Found as found:
        line, column = finder.getpos()
        return at + _offset(html, at, line, column), found
    except Exception:  # html.parser gives up on some broken markup: the text rules decide
        return None
    return None


def _offset(html: str, at: int, line: int, column: int) -> int:
    """The offset, from `at`, of html.parser's (line, column) position."""
    start = 0
    for _ in range(line - 1):
        start = html.find("\n", at + start) - at + 1
    return start + column


def _element_end(html: str, start: int, tag: str) -> int:
    """The offset just past the element starting at `start`, by counting `tag` tags."""
    if tag in ("hr", "br", "img"):
        return html.find(">", start) + 1 or len(html)
    depth = 0
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", html[start:], re.IGNORECASE):
        depth += -1 if match[1] else 1
        if depth == 0:
            return start + match.end()
    return len(html)  # never closed: the history runs to the end


def _is_history(html: str, spans: list[Span], start: int, end: int) -> bool:
    """Whether a plain blockquote is quoted history rather than the person's indenting."""
    if ANY_MARKER_RE.search(html, start, end):
        return True
    since = max(spans[-1].end if spans else 0, start - 4000)  # the attribution is just above
    before = html_to_text(html[since:start]).rstrip()
    last_line = before.rsplit("\n", 1)[-1]
    return bool(_ATTRIBUTION.search(last_line))
