"""Case references and where to find them in an email: the subject and the body marker.

A case reference looks like ``ESC-2026-0042``: a prefix for the kind of work, the year, and
a number of at least four digits. The prefixes are the council's, from `rules/tags.toml`
(`ref_prefix`, e.g. ESC formal escalation, PC positive challenge, GP good practice, CA
collective alert); `References` finds exactly those, so a reference the rules can open is a
reference the matcher can read. Every email we send carries it twice: in the subject, e.g.
``[ESC-2026-0042]``, and as a small marker in the body, ``[ma:ESC-2026-0042]``, because
some clients drop the reply headers and some people rewrite the subject. Both are guessable,
so whoever matches on them must check that the sender takes part in the case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache

from mailagent.policy.schema import REF_PREFIX_PATTERN

_REF_PREFIX_RE = re.compile(REF_PREFIX_PATTERN)
_ANY_REF_RE = re.compile(rf"{REF_PREFIX_PATTERN}-\d{{4}}-\d{{4,}}", re.IGNORECASE)
# Our body marker whatever the council's prefixes: text that carries it quotes our email.
ANY_MARKER_RE = re.compile(rf"\[\s*ma\s*:\s*{REF_PREFIX_PATTERN}-\d{{4}}-\d{{4,}}\s*\]",
                           re.IGNORECASE)


class References:
    """Finding the council's case references (of the given prefixes) in email."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        self.prefixes = tuple(sorted({p.upper() for p in prefixes}, key=lambda p: (-len(p), p)))
        if not self.prefixes or not all(_REF_PREFIX_RE.fullmatch(p) for p in self.prefixes):
            raise ValueError(f"case reference prefixes must match {REF_PREFIX_PATTERN}: "
                             f"{self.prefixes}")
        alternatives = "|".join(self.prefixes)
        self._ref = re.compile(rf"\b({alternatives})-(\d{{4}})-(\d{{4,}})\b", re.IGNORECASE)
        self._bracketed = re.compile(rf"\[\s*({self._ref.pattern})\s*\]", re.IGNORECASE)
        # The marker is plain ASCII with no spaces, so it survives quoting ("> "), line
        # wrapping, HTML-to-text conversion and every charset; the "ma:" keeps a human-typed
        # reference in running text from being mistaken for it.
        self._marker = re.compile(
            rf"\[\s*ma\s*:\s*((?:{alternatives})-\d{{4}}-\d{{4,}})\s*\]", re.IGNORECASE)

    def find(self, text: str | None) -> str | None:
        """The first case reference anywhere in `text`, or None."""
        match = self._ref.search(text or "")
        return normalise_ref(match.group(0)) if match else None

    def find_all(self, text: str | None) -> Iterator[tuple[str, str]]:
        """Every case reference in `text`, as (reference, prefix)."""
        for match in self._ref.finditer(text or ""):
            yield normalise_ref(match.group(0)), match.group(1).upper()

    def find_in_subject(self, subject: str | None) -> str | None:
        """The case reference in a subject, preferring one in brackets as we write it."""
        if not subject:
            return None
        bracketed = self._bracketed.search(subject)
        if bracketed:
            return normalise_ref(bracketed.group(1))
        return self.find(subject)

    def find_marker(self, text_or_html: str | None) -> str | None:
        """The case reference of the first (most recent) body marker, or None."""
        match = self._marker.search(text_or_html or "")
        return normalise_ref(match.group(1)) if match else None


@cache
def references_for(prefixes: tuple[str, ...]) -> References:
    """One `References` per set of prefixes (its regexes are compiled once)."""
    return References(prefixes)


# Prefixes that mail clients put before a subject when answering or forwarding, in the
# languages the council's staff and partners use: English, Welsh (ATB, YML), German,
# Dutch, Nordic, French, Spanish, Italian, Polish, Portuguese, Turkish. "VS" answers in
# Finnish but forwards in Danish and Norwegian: it counts as an answer, the safer reading.
_REPLY_WORDS = ("re", "aw", "antw", "antwort", "sv", "vs", "atb", "odp", "res", "rif", "r", "ynt")
_FORWARD_WORDS = ("fw", "fwd", "wg", "tr", "vl", "vb", "doorst", "pd", "enc", "rv", "i", "yml")
_PREFIX_RE = re.compile(
    r"^\s*+(?P<word>"
    + "|".join(sorted(_REPLY_WORDS + _FORWARD_WORDS, key=len, reverse=True))
    + r")\s*+(?:\[\d+\]|\(\d+\))?\s*+[:：]\s*",
    re.IGNORECASE,
)
# Banners that mail gateways add to mail from outside the organisation, anywhere in it.
_BANNER_RE = re.compile(
    r"\[\s*(?:external|ext|external email|external sender|caution|suspected spam|spam)\s*\]"
    r"|\*{1,3}\s*(?:external|caution)\s*\*{1,3}"
    r"|^\s*(?:external|ext|caution)\s*:\s*",
    re.IGNORECASE,
)


def normalise_ref(ref: str) -> str:
    """The canonical spelling of a reference: upper-case prefix."""
    return ref.strip().upper()


def strip_banners(subject: str) -> str:
    """The subject without gateway banners such as ``[EXTERNAL]`` or ``**EXTERNAL**``."""
    previous = None
    while previous != subject:
        previous, subject = subject, _BANNER_RE.sub(" ", subject)
    return " ".join(subject.split())


def strip_subject(subject: str | None) -> str:
    """The subject without banners and any number of reply or forward prefixes."""
    subject = strip_banners(subject or "")
    previous = None
    while previous != subject:
        previous, subject = subject, strip_banners(_PREFIX_RE.sub("", subject, count=1))
    return subject


def has_reply_prefix(subject: str | None) -> bool:
    """Whether a client marked the subject as an answer (RE:, AW:, SV:, Re[2]: ...)."""
    return _first_prefix(subject) in _REPLY_WORDS


def has_forward_prefix(subject: str | None) -> bool:
    """Whether a client marked the subject as a forward (FW:, Fwd:, WG:, TR: ...)."""
    return _first_prefix(subject) in _FORWARD_WORDS


def _first_prefix(subject: str | None) -> str | None:
    match = _PREFIX_RE.match(strip_banners(subject or ""))
    return match.group("word").lower() if match else None


def format_marker(ref: str) -> str:
    """The body marker for a case, e.g. ``[ma:ESC-2026-0042]``."""
    if not _ANY_REF_RE.fullmatch(ref.strip()):
        raise ValueError(f"not a case reference: {ref!r}")
    return f"[ma:{normalise_ref(ref)}]"
