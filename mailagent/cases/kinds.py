"""The kinds of case, and what each does with new work, with email about it, and with time.

`dispatch` and the sweep look a case's kind up here instead of choosing with if-chains.
A tag kind (rules/tags.toml) and a case's `kind` column use the same names; a positive
challenge that goes formal becomes an escalation, run by the same functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from mailagent.cases import collective, commendations, opening, replies, side_routes, steps
from mailagent.cases.match import Match
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome
from mailagent.mail.classify import Classification
from mailagent.mail.parse import InboundMessage
from mailagent.store.models import CHECK_NOW, Case

OpenFn = Callable[[Session, Office, str, InboundMessage, Classification, datetime, int], Outcome]
EmailFn = Callable[
    [Session, Office, Case, Match, InboundMessage, Classification, datetime, int], Outcome
]


@dataclass(frozen=True)
class CaseKind:
    """One kind of case: how it opens, answers email, and which timers it runs."""

    name: str
    open: OpenFn
    on_email: EmailFn
    due_steps: Callable[[Office, Case, datetime], list[str]]
    apply_due: Callable[[Session, Office, Case, str, datetime], str]
    describe_due: Callable[[Office, Case, str], str]
    # When the sweep must next look at a case with nothing due (never later than its timers).
    next_due_at: Callable[[Office, Case], datetime | None]
    # Whether its stages have an addressee who answers for them (and may be away).
    has_stages: bool = False


def _no_steps(office: Office, case: Case, now: datetime) -> list[str]:
    return []


def _no_apply(session: Session, office: Office, case: Case, step: str, now: datetime) -> str:
    raise ValueError(f"a {case.kind} has no timed step {step!r}")


def _never(office: Office, case: Case) -> datetime | None:
    return None


def _every_sweep(office: Office, case: Case) -> datetime | None:
    # A collective alert's timers read its own row and actions; there are a handful open,
    # so each sweep looks at every one.
    return CHECK_NOW if case.status == "open" else None


def _plain_step(office: Office, case: Case, step: str) -> str:
    return step.replace("_", " ")


def _escalation_email(session: Session, office: Office, case: Case, match: Match,
                      msg: InboundMessage, cls: Classification, now: datetime,
                      inbound_id: int) -> Outcome:
    """The steps beside the ladder take their commands and answers; the ladder the rest."""
    return side_routes.on_email(session, office, case, match, msg, cls, now, inbound_id,
                                then=replies.on_escalation_email)


def _escalation_due(office: Office, case: Case, now: datetime) -> list[str]:
    return steps.due_steps(office, case, now) + side_routes.due_steps(office, case, now)


def _escalation_next_due(office: Office, case: Case) -> datetime | None:
    # The ladder's timers and the side routes' (kept in their own rows), whichever is first.
    times = (steps.next_due_at(office, case), side_routes.next_due_at(office, case))
    return min((at for at in times if at is not None), default=None)


def _escalation_apply(session: Session, office: Office, case: Case, step: str,
                      now: datetime) -> str:
    if side_routes.is_side_step(step):
        return side_routes.apply_due(session, office, case, step, now)
    return steps.apply_due(session, office, case, step, now)


def _escalation_describe(office: Office, case: Case, step: str) -> str:
    if side_routes.is_side_step(step):
        return side_routes.describe_due(step)
    return steps.describe_due(office, case, step)


_ESCALATION = dict(
    open=opening.open_from_email, on_email=_escalation_email,
    due_steps=_escalation_due, apply_due=_escalation_apply, describe_due=_escalation_describe,
    next_due_at=_escalation_next_due, has_stages=True,
)

KINDS: dict[str, CaseKind] = {
    "escalation": CaseKind("escalation", **_ESCALATION),
    "challenge": CaseKind("challenge", **_ESCALATION),
    "commendation": CaseKind(
        "commendation",
        open=lambda s, o, _kind, m, c, n, i: commendations.on_commendation(s, o, m, c, n, i),
        on_email=commendations.on_commendation_email,
        due_steps=_no_steps, apply_due=_no_apply, describe_due=_plain_step, next_due_at=_never,
    ),
    "collective_alert": CaseKind(
        "collective_alert",
        open=lambda s, o, _kind, m, c, n, i: collective.on_new_alert(s, o, m, c, n, i),
        on_email=collective.on_alert_email,
        due_steps=collective.due_steps, apply_due=collective.apply_due,
        describe_due=collective.describe_due, next_due_at=_every_sweep,
    ),
}


def kind_of(case: Case) -> CaseKind:
    return KINDS[case.kind]
