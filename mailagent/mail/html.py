"""HTML email as readable text: block elements and <br> become line breaks, table cells
tabs, scripts and styles are dropped. Used for HTML-only email and for HTML quotes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
    "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot",
    "tr", "ul",
}


_SKIPPED_TAGS = {"script", "style", "title", "xml", "template", "noscript"}


OUTLOOK_RULE = "_" * 32  # what Outlook's plain text shows for the rule above a quoted email


class _TextExtractor(HTMLParser):
    """Collects readable text: block elements and <br> become line breaks, cells tabs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.in_paragraph = False  # inside a <p> that is a paragraph, not an Outlook line

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self._new_line()
            self.out.append(OUTLOOK_RULE + "\n")
        elif tag in ("td", "th"):
            self.out.append("\t")
        elif tag == "p" and not _is_word_paragraph(attrs):
            self.in_paragraph = True
            self._blank_line()
        elif tag in _BLOCK_TAGS:
            self._new_line()
            if tag == "pre":
                self.pre += 1
            if tag == "li":
                self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "p" and self.in_paragraph:
            self.in_paragraph = False
            self._blank_line()
        elif tag in _BLOCK_TAGS:
            self._new_line()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = re.sub(r"[ \t\r\n\f\v]+", " ", data)
            if data == " " and (not self.out or self.out[-1][-1:] in ("\n", " ", "\t")):
                return  # layout whitespace between tags
        self.out.append(data)

    def _new_line(self) -> None:
        if self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")

    def _blank_line(self) -> None:
        self._new_line()
        if self.out and not "".join(self.out[-2:]).endswith("\n\n"):
            self.out.append("\n")


def _is_word_paragraph(attrs: list[tuple[str, str | None]]) -> bool:
    """Outlook writes one <p class=MsoNormal> per line, with empty ones for blank lines."""
    classes = next((value or "" for name, value in attrs if name == "class"), "")
    return "mso" in classes.lower()


def html_to_text(html: str) -> str:
    """Readable text from an email's HTML, keeping its lines and Outlook's separator rule."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
        text = "".join(extractor.out)
    except Exception:  # html.parser gives up on some broken markup
        text = re.sub(r"<[^>]*>", " ", html)
    text = text.replace("\xa0", " ").replace("\u200b", "").replace("\ufeff", "")
    lines = [line.strip(" \t") for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
