"""Where escalation email and the sweep meet the steps beside the ladder: the challenge
meeting and legal advice (`challenge_meeting`), a CAFCASS referral's conditions (`cafcass`),
the tracking record (`tracking`) and the team's learning (`team_learning`).

For every email about an escalation or positive challenge, `on_email` first carries out
their commands (#challenge-meeting, #legal-advice, #cafcass-meeting, #cafcass-referred) and
takes the replies that answer them (the tracking record's acknowledgment, the team's
learning points); everything else goes on to the ladder (`replies`). After the email, and in
every sweep, `follow` sends what the case's new state calls for (a meeting asked for once a
referral is considered, the tracking record's request at its stage, the team asked for its
learning at resolution), and `due_steps` the reminders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from mailagent.cases import cafcass, challenge_meeting, commands, team_learning, tracking
from mailagent.cases.match import Match
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused, Outcome
from mailagent.cases.recipients import people_for
from mailagent.mail.classify import Classification
from mailagent.mail.fields import Command
from mailagent.mail.parse import InboundMessage
from mailagent.store.models import CHECK_NOW, Case

EmailFn = Callable[
    [Session, Office, Case, Match, InboundMessage, Classification, datetime, int], Outcome
]
SideCommand = Callable[[Session, Office, Case, Command, datetime, str, int], None]

COMMANDS: dict[str, SideCommand] = {
    "challenge-meeting": lambda s, o, c, cmd, now, who, i: challenge_meeting.refer(
        s, o, c, (cmd.arg or "").strip(), now, actor=who, inbound_id=i),
    "legal-advice": lambda s, o, c, cmd, now, who, i: challenge_meeting.legal_advice(
        s, o, c, (cmd.arg or "").strip(), now, actor=who, inbound_id=i),
    "cafcass-meeting": lambda s, o, c, cmd, now, who, i: cafcass.record_meeting(
        s, o, c, cmd, now, actor=who, inbound_id=i),
    "cafcass-referred": lambda s, o, c, cmd, now, who, i: cafcass.referred(
        s, o, c, cmd, now, actor=who, inbound_id=i),
}
# The timed steps, each with when it is next due (None: not at all) and what it does.
STEPS = {
    cafcass.REMINDER: (cafcass.reminder_at, cafcass.remind,
                       "remind the IRO to record the meeting before a CAFCASS referral"),
    tracking.REMINDER: (tracking.reminder_at, tracking.remind,
                        "remind the keeper of the tracking record to acknowledge"),
}
FOLLOW = "follow"


def on_email(session: Session, office: Office, case: Case, match: Match, msg: InboundMessage,
             cls: Classification, now: datetime, inbound_id: int, then: EmailFn) -> Outcome:
    """The side routes' commands and answers; the rest of the email goes on to `then`."""
    sender = (msg.from_addr or "").lower()
    mine = [c for c in cls.commands if c.name in COMMANDS]
    for command in mine:
        try:
            commands.check_may(office, case, command, sender)
            if case.status != "open":
                raise CaseRefused(f"{case.ref} is already {case.status}")
            COMMANDS[command.name](session, office, case, command, now, sender, inbound_id)
        except CaseRefused as exc:
            commands.refuse(session, office, case, command, sender, str(exc), now, inbound_id)
    rest = tuple(c for c in cls.commands if c.name not in COMMANDS)
    if mine and not rest:
        outcome = Outcome("processed", case_ref=case.ref,
                          summary=f"{case.ref}: {', '.join(f'#{c.name}' for c in mine)}")
    elif not cls.commands and (
            (answer := tracking.acknowledge(session, office, case, sender, now, inbound_id))
            or (answer := team_learning.receive(session, office, case, sender, cls, now,
                                                inbound_id))):
        outcome = answer
    else:
        outcome = then(session, office, case, match, msg, replace(cls, commands=rest), now,
                       inbound_id)
    follow(session, office, case, now)
    return outcome


def follow(session: Session, office: Office, case: Case, now: datetime) -> list[str]:
    """What the case's state now calls for from the side routes, each once."""
    return (cafcass.follow(session, office, case, now)
            + tracking.follow(session, office, case, now)
            + team_learning.follow(session, office, case, now))


def due_steps(office: Office, case: Case, now: datetime) -> list[str]:
    """Reminders due, and a request owed because the sweep moved the case (an automatic
    escalation into a tracked stage)."""
    due = [name for name, (when, _, _) in STEPS.items()
           if (at := when(office, case)) is not None and now >= at]
    if _follow_owed(office, case):
        due.insert(0, FOLLOW)
    return due


def next_due_at(office: Office, case: Case) -> datetime | None:
    """The earliest of the side routes' timers (for the sweep's `case.next_due_at`); None if
    none is set. A change to their rows marks the case for the next sweep (the store's
    flush hook), so this is read again whenever one of them moves."""
    if _follow_owed(office, case):
        return CHECK_NOW
    return min((at for when, _, _ in STEPS.values() if (at := when(office, case))),
               default=None)


def _follow_owed(office: Office, case: Case) -> bool:
    route = office.ladder_of(case).tracking
    return bool(route and case.tracking is None and case.stage_id in route.stages
                and case.status == "open" and people_for(office, case, [route.by]))


def apply_due(session: Session, office: Office, case: Case, step: str, now: datetime) -> str:
    if step == FOLLOW:
        return "; ".join(follow(session, office, case, now)) or f"{case.ref}: nothing owed"
    return STEPS[step][1](session, office, case, now)


def describe_due(step: str) -> str:
    if step == FOLLOW:
        return "ask the keeper of the tracking record to acknowledge the dispute"
    return STEPS[step][2]


def is_side_step(step: str) -> bool:
    return step == FOLLOW or step in STEPS
