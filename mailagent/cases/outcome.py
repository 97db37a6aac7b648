"""What handling one email came to, and the refusal a person's request can meet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """How one inbound email ended: processed, or quarantined for a person with a reason."""

    status: str  # "processed" or "quarantined"
    reason: str | None = None
    case_ref: str | None = None
    summary: str = ""


def quarantined(reason: str) -> Outcome:
    return Outcome("quarantined", reason, summary=f"quarantined: {reason}")


class CaseRefused(Exception):
    """A request the rules do not allow; the message says why, for the person who asked."""
