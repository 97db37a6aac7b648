"""The benchmark's mail: a council mailbox's mix, written by the mail-client builders the
tests use (tests/clients.py), so the bench reads what the agent meets in real life.

Per ten messages, on average: four IRO escalations from Outlook (HTML from Word, a
Thread-Index), three managers' Outlook replies to an earlier escalation (quoted history in
text and HTML), one IRO command from Gmail (#extend, #note), one Exchange out-of-office and
one delivery failure report. Replies, commands and machine mail thread under an earlier
escalation of the same corpus (References), so the agent finds their case by its thread
even though our own Message-IDs cannot be known in advance. Every escalation is about its
own child, so each opens its own case.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import getaddresses

from tests.clients import (
    delivery_failure,
    exchange_out_of_office,
    gmail_reply,
    outlook_new,
    outlook_reply,
    parse,
)
from tests.support import LONDON

IROS = ("Irene Reed <iro1@example.test>", "Ivan Rowe <iro2@example.test>")
# The stage 1 addressee of each team on the Leicestershire ladder (the directory's team
# managers), and the category labels of rules/categories.toml.
TEAMS = (("North", "Tara Moss <tm1@example.test>"), ("South", "Tom Marsh <tm2@example.test>"))
CATEGORIES = ("Placement", "Care plan", "Drift in care plan", "Visits to the child",
              "Sibling or family contact", "Services to the child", "Health", "Education")
ISSUES = (
    "The placement plan agreed at the review on {day} has not been started.",
    "The child has not been visited within the statutory timescale since {day}.",
    "Sibling contact agreed at the review on {day} has not taken place.",
    "The care plan has not been updated since the review on {day}.",
)
# The mix, as weights out of ten.
MIX = (("escalation", 4), ("reply", 3), ("command", 1), ("autoreply", 1), ("bounce", 1))


@dataclass(frozen=True)
class Expected:
    """An escalation, and who must hear of it: its IRO (the acknowledgment) and the team
    manager at stage 1 (the escalation). Both emails thread under `message_id`."""

    message_id: str
    iro: str
    manager: str


@dataclass
class Corpus:
    """The messages in the order they reach the mailbox, when each was sent, what kind it
    is, and the escalations among them."""

    messages: list[bytes] = field(default_factory=list)
    dates: list[datetime] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    escalations: list[Expected] = field(default_factory=list)

    def add(self, raw: bytes, at: datetime, kind: str) -> None:
        self.messages.append(raw)
        self.dates.append(at)
        self.kinds.append(kind)

    def counts(self) -> dict[str, int]:
        return {kind: self.kinds.count(kind) for kind, _ in MIX if kind in self.kinds}

    def __len__(self) -> int:
        return len(self.messages)


def escalation(n: int, at: datetime, rng: random.Random, *, stage: str | None = None
               ) -> tuple[bytes, Expected]:
    """IRO escalation number `n` (its child's record number is unique to it), starting at
    stage 1 or at `stage` ("the IRO may skip any stage")."""
    iro = IROS[n % len(IROS)]
    team, manager = TEAMS[(n // 2) % len(TEAMS)]
    category = CATEGORIES[n % len(CATEGORIES)]
    day = (at - timedelta(days=rng.randint(10, 60))).strftime("%-d %B")
    body = (
        f"Child: {700000 + n}\nPlan: {'LAC' if n % 3 else 'CP'}\nTeam: {team}\n"
        f"Social worker: Sam Walker\nCategory: {category}\n"
        + (f"Stage: {stage}\n" if stage else "") +
        f"Issue: {ISSUES[n % len(ISSUES)].format(day=day)}\n"
        "Impact on child: The child remains in an unsuitable arrangement and has missed "
        "school.\nResolution sought: A plan to put this right this week, with an update to "
        "the IRO.\n\nKind regards\n" + iro.split(" <")[0] + "\nIndependent Reviewing Officer\n"
    )
    raw = outlook_new(iro, f"[ESCALATE] {category.lower()} for child {700000 + n}", body, at=at)
    return raw, Expected(_message_id(raw), _address(iro), _address(manager))


def escalations(count: int, *, start: datetime, first: int, seed: int = 1) -> Corpus:
    """Only escalations, `count` of them, children numbered from `first`."""
    rng = random.Random(seed)
    corpus = Corpus()
    for i in range(count):
        at = start + timedelta(seconds=3 * i)
        raw, expected = escalation(first + i, at, rng)
        corpus.add(raw, at, "escalation")
        corpus.escalations.append(expected)
    return corpus


def build(count: int, *, start: datetime, seed: int = 18, first: int = 0) -> Corpus:
    """`count` messages sent from `start` on, a few seconds apart. `first` numbers the
    children, so two corpora for the same database (P1, then P2) never share a child."""
    rng = random.Random(seed)
    corpus = Corpus()
    opened: list[tuple[bytes, str]] = []  # (escalation bytes, the team's manager)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    n = first
    for i in range(count):
        at = start + timedelta(seconds=3 * i)
        kind = rng.choice(kinds) if opened else "escalation"
        if kind == "escalation":
            raw, expected = escalation(n, at, rng)
            opened.append((raw, expected.manager))
            corpus.escalations.append(expected)
            n += 1
        else:
            original, manager = rng.choice(opened[-200:])  # recent cases, as in real life
            raw = _answer(kind, original, manager, at, rng)
        corpus.add(raw, at, kind)
    return corpus


def _answer(kind: str, original: bytes, manager: str, at: datetime, rng: random.Random) -> bytes:
    if kind == "reply":
        return outlook_reply(original, manager, rng.choice((
            "Thank you. I have asked the team to start on this today and will update the IRO "
            "by Friday.",
            "We have allocated a social worker and a visit is booked for Thursday.",
            "I have spoken to the team; the plan will be reviewed at Monday's meeting.",
        )), at=at, web=rng.random() < 0.5)
    if kind == "command":
        iro = parse_from(original)
        return gmail_reply(original, iro, rng.choice((
            "#extend 5\nThe team manager has asked for a week to arrange the search.",
            "#note Spoke to the team manager; the plan is in hand.",
        )), at=at)
    if kind == "autoreply":
        return exchange_out_of_office(
            original, manager, "I am out of the office until Monday with limited access to "
            "email. For urgent matters please contact my deputy.", at=at)
    return delivery_failure(original, "left.the.council@example.test", at=at)


def parse_from(raw: bytes) -> str:
    return str(parse(raw)["From"])


def _message_id(raw: bytes) -> str:
    return str(parse(raw)["Message-ID"]).strip()


def _address(person: str) -> str:
    return getaddresses([person])[0][1].lower()


def working_day_morning() -> datetime:
    """The instant the agent's clock is pinned to: a Tuesday, 10:00, in working hours."""
    return datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
