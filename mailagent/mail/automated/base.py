"""What every automated-mail rule is: a name, a description, and a check that says why it hit.

A check reads a `Mail`: the message plus the few things several rules look at (header
names, the subject without gateway banners, the opening of the text), each worked out at
most once and only if a rule asks for it, so a person's email costs a handful of dictionary
lookups. A reason names the signal (a header, a phrase's language), never the message's
own words, because reasons are logged and shown by `mailagent inspect`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from mailagent.mail.parse import InboundMessage
from mailagent.mail.references import strip_banners

# How much of the text the wording rules read: automatic replies and bounces say what
# they are in their first lines, and reading no further keeps long emails cheap.
OPENING_CHARS = 1500


class AutomatedKind(StrEnum):
    """What kind of mail no person wrote, named for what mailagent does with it.

    - autoreply: the person's own mailbox answered for them (out-of-office, holiday,
      "this mailbox is no longer monitored"); they may not read our email soon, so a
      stage's deputy is brought in. Never a response, never answered.
    - bounce: our email did not reach someone (a delivery status notification, RFC 3464,
      or a mail server's plain-text failure notice); the IRO is told who.
    - confirmation_request: a challenge-response spam filter holding our email until
      someone confirms the sender is a person; never answered (answering is what such
      systems want, and it would confirm our address to anything that asks); the IRO is
      told once that the person has not received it.
    - read_receipt: a "read" (or "not read") notification, RFC 8098.
    - feedback_report: an abuse or spam complaint report, RFC 5965.
    - bulk: mail to many people or from a system that needs nothing from us: mailing
      lists (List-Id, Precedence: list), newsletters and notices (Precedence: bulk/junk,
      Auto-Submitted: auto-generated, a null return path), delivery reports that report
      no failure.
    """

    AUTOREPLY = "autoreply"
    BOUNCE = "bounce"
    CONFIRMATION_REQUEST = "confirmation_request"
    READ_RECEIPT = "read_receipt"
    FEEDBACK_REPORT = "feedback_report"
    BULK = "bulk"


@dataclass(frozen=True)
class Hit:
    """A rule's finding: the kind of mail and the signal that showed it."""

    kind: AutomatedKind
    reason: str


@dataclass(frozen=True)
class Automated:
    """Machine-sent mail: its kind, the rule that decided, and why."""

    kind: AutomatedKind
    rule: str
    reason: str


@dataclass(frozen=True)
class Rule:
    """A named check: `check` gives a Hit, or None to pass the mail to the next rule."""

    name: str
    description: str
    check: Callable[[Mail], Hit | None]


_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "\xa0": " ", "\u202f": " "})


class Mail:
    """One message as the rules read it; every property is computed once, when first used."""

    def __init__(self, msg: InboundMessage) -> None:
        self.msg = msg

    @cached_property
    def header_names(self) -> frozenset[str]:
        return frozenset(name.lower() for name, _ in self.msg.headers.items)

    def has(self, name: str) -> bool:
        return name.lower() in self.header_names

    def header(self, name: str) -> str:
        """The first value of a header, decoded and stripped; "" when it is absent."""
        if not self.has(name):
            return ""
        return (self.msg.headers.get(name) or "").strip()

    @cached_property
    def subject(self) -> str:
        """The subject without gateway banners, curly apostrophes made straight."""
        return strip_banners(self.msg.subject).translate(_APOSTROPHES)

    @cached_property
    def opening(self) -> str:
        """The start of the text on one line: whitespace collapsed, apostrophes straight."""
        head = (self.msg.text or "")[: OPENING_CHARS * 2]
        return _SPACES.sub(" ", head.translate(_APOSTROPHES)).strip()[:OPENING_CHARS]

    @cached_property
    def opening_lower(self) -> str:
        return self.opening.lower()

    def mentions(self, stems: tuple[str, ...]) -> bool:
        """Whether the opening contains any of `stems` (lower-case): a cheap test that
        spares the wording patterns, which cost more, on text that cannot match them."""
        return any(stem in self.opening_lower for stem in stems)

    @cached_property
    def sender(self) -> str:
        return self.msg.from_addr or ""

    @cached_property
    def return_path(self) -> str:
        """The envelope sender the delivering server recorded, without angle brackets."""
        return self.header("Return-Path").strip().strip("<>").strip()


def addresses_in(value: str) -> list[str]:
    """Every address-looking token in a header value, lower-case."""
    return [token.strip("<>\"'(),;").lower() for token in value.split() if "@" in token]


LANGUAGES = {
    "en": "English", "cy": "Welsh", "de": "German", "fr": "French", "es": "Spanish",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "ro": "Romanian",
    "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "cs": "Czech",
    "sk": "Slovak", "hu": "Hungarian", "el": "Greek", "ru": "Russian", "uk": "Ukrainian",
    "bg": "Bulgarian", "hr": "Croatian", "sl": "Slovenian", "lt": "Lithuanian",
    "lv": "Latvian", "et": "Estonian", "tr": "Turkish", "ja": "Japanese", "zh": "Chinese",
}


def wording(by_language: dict[str, str], template: str = "{}") -> re.Pattern[str]:
    """One case-insensitive pattern of phrases, a named group per language.

    `template` places the alternation, e.g. ``"^(?:{})"`` to anchor it; which language
    matched is then `language_of(match)`.
    """
    groups = "|".join(f"(?P<{code}>{phrases})" for code, phrases in by_language.items())
    return re.compile(template.format(groups), re.IGNORECASE)


def language_of(match: re.Match[str]) -> str:
    return LANGUAGES.get(match.lastgroup or "", match.lastgroup or "unknown language")
