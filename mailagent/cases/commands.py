"""The IRO's commands on an escalation: #resolved, #escalate, #extend, #pause, #resume,
#withdraw, #cafcass and #note, and the answer when one is refused (who may use which is
`authorise.may_command`, from the rules)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session

from mailagent.cases import answers, authorise, escalation, timing
from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused, Outcome
from mailagent.cases.recipients import iro_of, people_for, stage_recipients
from mailagent.cases.timeline import record
from mailagent.mail.classify import Classification
from mailagent.mail.fields import Command
from mailagent.mail.parse import InboundMessage
from mailagent.policy.directory import Person
from mailagent.policy.ladder import Ladder, Stage
from mailagent.store.models import (
    Case,
)

log = logging.getLogger(__name__)

def on_commands(
    session: Session, office: Office, case: Case, msg: InboundMessage, cls: Classification,
    now: datetime, inbound_id: int,
) -> Outcome:
    sender = (msg.from_addr or "").lower()
    done: list[str] = []
    for command in cls.commands:
        try:
            check_may(office, case, command, sender)
            if case.status == "resolved" and command.name == "resolved" and command.fields:
                # The IRO answering our request for the outcome with "#resolved Outcome: ..."
                record_outcome(session, case, now, actor=sender,
                                      outcome=command.fields.get("outcome"),
                                      learning=command.fields.get("learning"))
            elif case.status != "open" and command.name != "note":
                raise CaseRefused(f"{case.ref} is already {case.status}")
            else:
                run_command(session, office, case, command, sender, now, inbound_id)
            done.append(f"#{command.name}")
        except CaseRefused as exc:
            refuse(session, office, case, command, sender, str(exc), now, inbound_id)
    responder = authorise.stage_answerer(office, case, sender) if case.status == "open" else None
    if responder is not None and not done:
        # The stage's addressee wrote a command they may not use ("#resolved" from a team
        # manager): what they wrote still answers the stage, and the IRO decides.
        escalation.respond(session, office, case, responder, cls.reply_text or "", now, inbound_id)
        done.append("response")
    return Outcome("processed", case_ref=case.ref,
                   summary=f"{case.ref}: {', '.join(done) or 'no command carried out'}")


def check_may(office: Office, case: Case, command: Command, sender: str) -> None:
    """Refuse a command from someone the rules do not let use it on this case."""
    decision = authorise.may_command(office, case, command, sender)
    if not decision.allowed:
        raise CaseRefused(decision.reason)


def run_command(
    session: Session, office: Office, case: Case, command: Command, sender: str, now: datetime,
    inbound_id: int,
) -> None:
    name, arg = command.name, (command.arg or "").strip()
    if name == "resolved":
        resolve(session, office, case, now, actor=sender,
                       outcome=command.fields.get("outcome"),
                       learning=command.fields.get("learning"))
    elif name == "escalate":
        target = arg.removeprefix("to ").strip() if arg else None
        escalation.escalate(session, office, case, now, actor=sender, to_stage=target or None)
    elif name == "extend":
        if not arg.isdigit():
            raise CaseRefused("#extend needs a number of working days, e.g. #extend 5")
        extend(session, office, case, now, actor=sender, days=int(arg))
    elif name == "withdraw":
        withdraw(session, office, case, now, actor=sender, reason=arg or None)
    elif name == "cafcass":
        cafcass(session, office, case, now, actor=sender)
    elif name == "note":
        note(session, case, now, actor=sender, text=arg, inbound_id=inbound_id)
    elif name == "pause":
        pause(session, office, case, now, actor=sender, reason=arg or None)
    elif name == "resume":
        resume(session, office, case, now, actor=sender)
    else:
        raise CaseRefused(f"#{name} does not apply to an escalation")


def refuse(
    session: Session, office: Office, case: Case, command: Command, sender: str, reason: str,
    now: datetime, inbound_id: int,
) -> None:
    record(session, case, "refused", now, actor=sender, inbound_id=inbound_id,
           summary=f"#{command.name} refused: {reason}")
    if not answers.may_answer(session, office, sender, now):
        return
    person = office.directory.person_by_email(sender) or Person(name=sender, email=sender)
    ladder = office.ladder_of(case)
    context = case_context(session, office, case, ladder, sender_name=person.name,
                           command=f"#{command.name}" + (f" {command.arg}" if command.arg else ""),
                           reason=reason)
    send(session, office, case, template="command_refused", context=context, to=[person],
         purpose="command_refused", key=f"refused:{inbound_id}:{command.name}", now=now,
         automated=True)


def resolve(
    session: Session, office: Office, case: Case, now: datetime, *, actor: str,
    outcome: str | None, learning: str | None,
) -> None:
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.stage_id)
    case.status, case.closed_at, case.stage_state = "resolved", now, None
    case.outcome, case.learning = outcome, learning
    session.add(case)
    record(session, case, "resolved", now, actor=actor, stage_id=stage.id,
           summary=f"Resolved at {stage.name}")
    everyone = stage_recipients(office, case, stage)
    context = case_context(session, office, case, ladder, outcome=outcome, learning=learning)
    send(session, office, case, template=ladder.template_for(stage.id, "resolved"),
         context=context, to=everyone.to, cc=everyone.cc + people_for(office, case, stage.notify),
         purpose="resolved", key="resolved", now=now, automated=True)
    if not (outcome and learning):
        send(session, office, case, template="outcome_request", context=context,
             to=iro_of(office, case), purpose="outcome_request", key="outcome_request", now=now,
             automated=True)


def record_outcome(
    session: Session, case: Case, now: datetime, *, actor: str,
    outcome: str | None, learning: str | None,
) -> None:
    """The IRO's outcome and learning, sent after the case closed."""
    case.outcome = outcome or case.outcome
    case.learning = learning or case.learning
    session.add(case)
    record(session, case, "outcome", now, actor=actor, summary="Outcome and learning recorded")


def withdraw(session: Session, office: Office, case: Case, now: datetime, *, actor: str,
             reason: str | None) -> None:
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.stage_id)
    case.status, case.closed_at, case.stage_state = "withdrawn", now, None
    session.add(case)
    record(session, case, "withdrawn", now, actor=actor, stage_id=stage.id,
           summary=f"Withdrawn at {stage.name}")
    _tell_stage(session, office, case, ladder, stage, "withdrawn", now, "withdrawn",
                reason=reason)


def extend(session: Session, office: Office, case: Case, now: datetime, *, actor: str,
           days: int) -> None:
    if days <= 0 or days > 60:
        raise CaseRefused("#extend needs a number of working days from 1 to 60, e.g. #extend 5")
    if case.stage_state == timing.PAUSED:
        raise CaseRefused("the case is paused; #resume it first")
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.stage_id)
    # From the current deadline; once it has passed (the IRO was told and waited), from today.
    old = timing.deadline_day(office.calendar, case.stage_deadline)
    start = old if now < case.stage_deadline else office.calendar.receipt_day(now)
    case.stage_deadline = office.calendar.end_of_day(office.calendar.add_working_days(start, days))
    case.stage_state = timing.AWAITING_RESPONSE
    case.extensions += 1
    session.add(case)
    record(session, case, "extended", now, actor=actor, stage_id=stage.id,
           summary=f"Deadline extended by {days} working days",
           deadline=case.stage_deadline.isoformat())
    _tell_stage(session, office, case, ladder, stage, "extended", now,
                f"extended:{case.extensions}", days=days)


def pause(session: Session, office: Office, case: Case, now: datetime, *, actor: str,
          reason: str | None) -> None:
    if case.stage_state == timing.PAUSED:
        raise CaseRefused("the case is already paused")
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.stage_id)
    left = timing.working_days_left(office.calendar, case.stage_deadline, now)
    case.paused_from = case.stage_state
    case.pauses += 1
    case.paused_working_days_left, case.stage_state = left, timing.PAUSED
    session.add(case)
    record(session, case, "paused", now, actor=actor, stage_id=stage.id,
           summary=f"Paused with {left} working days left" + (f": {reason}" if reason else ""))
    _tell_stage(session, office, case, ladder, stage, "paused", now,
                f"paused:{case.pauses}", reason=reason, days_left=left)


def resume(session: Session, office: Office, case: Case, now: datetime, *, actor: str) -> None:
    if case.stage_state != timing.PAUSED:
        raise CaseRefused("the case is not paused")
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.stage_id)
    left = case.paused_working_days_left or 0
    start = office.calendar.receipt_day(now)
    case.stage_deadline = office.calendar.end_of_day(office.calendar.add_working_days(start, left))
    case.stage_state = case.paused_from or timing.AWAITING_RESPONSE
    case.paused_from = None
    case.paused_working_days_left = None
    if case.stage_state == timing.AWAITING_DECISION:
        # The IRO's time to decide restarts too, or they would be reminded at once.
        case.decision_due = office.calendar.deadline(now, ladder.decision_working_days)
    session.add(case)
    record(session, case, "resumed", now, actor=actor, stage_id=stage.id,
           summary=f"Resumed with {left} working days left",
           deadline=case.stage_deadline.isoformat())
    _tell_stage(session, office, case, ladder, stage, "resumed", now,
                f"resumed:{case.pauses}")


def cafcass(session: Session, office: Office, case: Case, now: datetime, *, actor: str) -> None:
    """Record that a CAFCASS referral is being considered, with the council's checklist."""
    ladder = office.ladder_of(case)
    route = ladder.cafcass
    if route is None:
        raise CaseRefused("this council's rules do not describe a CAFCASS referral route")
    if case.plan not in route.plan_types:
        raise CaseRefused(
            "a CAFCASS referral is only possible for looked-after children (plan LAC); "
            f"this case's plan is {case.plan or 'not recorded'}"
        )
    stage = ladder.stage(case.stage_id)
    record(session, case, "cafcass", now, actor=actor, stage_id=stage.id,
           summary="CAFCASS referral being considered")
    # Those who must meet first are asked in their own email (`cafcass.follow`); those to
    # be told are copied here.
    notify_roles = [*route.notify,
                    *(r for p in route.prerequisites if p.action == "notify" for r in p.roles)]
    context = case_context(
        session, office, case, ladder,
        prerequisites=[p.text for p in route.prerequisites], checklist=list(route.checklist),
        record_step=route.referral.record_step or "",
        meeting_first=any(p.action == "meeting" for p in route.prerequisites),
    )
    send(session, office, case, template=ladder.template_for(stage.id, "cafcass_referral"),
         context=context, to=iro_of(office, case), cc=people_for(office, case, notify_roles),
         purpose="cafcass", key="cafcass", now=now, working_hours=True)


def note(session: Session, case: Case, now: datetime, *, actor: str, text: str,
         inbound_id: int | None) -> None:
    record(session, case, "note", now, actor=actor, inbound_id=inbound_id,
           summary="Note added by the IRO", text=text)


def _tell_stage(session: Session, office: Office, case: Case, ladder: Ladder, stage: Stage,
                purpose: str, now: datetime, key: str, **extra: Any) -> None:
    everyone = stage_recipients(office, case, stage)
    send(session, office, case, template=ladder.template_for(stage.id, purpose),
         context=case_context(session, office, case, ladder, **extra), to=everyone.to,
         cc=everyone.cc, purpose=purpose, key=key, now=now, automated=True)
