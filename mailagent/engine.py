"""The case engine: every change to a case, the event it records and the emails it queues.

Each function runs inside the caller's transaction, so a case's new state, its timeline
entry and its outgoing emails are committed together or not at all. Emails are queued with
dedupe keys that name the stage visit and the step, so replaying a step queues nothing new.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent import cases
from mailagent.app import Agent
from mailagent.directory import Person
from mailagent.models import Case, CaseEvent, ConversationRef, Counter, MessageRef
from mailagent.notify import (
    Recipients,
    case_context,
    names,
    people_for,
    send,
    stage_recipients,
)
from mailagent.outbox import Attachment
from mailagent.rules import Ladder, Stage

log = logging.getLogger(__name__)


class CaseRefused(Exception):
    """A request the rules do not allow; the message says why, for the person who asked."""


# -- opening -----------------------------------------------------------------------------


def next_ref(session: Session, prefix: str, year: int) -> str:
    """The next reference for `prefix` in `year` (ESC-2026-0001, ...), never reused."""
    name = f"{prefix}-{year}"
    counter = session.exec(select(Counter).where(Counter.name == name).with_for_update()).first()
    if counter is None:
        counter = Counter(name=name, value=0)
    counter.value += 1
    session.add(counter)
    session.flush()
    return f"{name}-{counter.value:04d}"


def open_case(
    session: Session,
    agent: Agent,
    *,
    kind: str,
    fields: dict[str, Any],
    iro_email: str,
    now: datetime,
    inbound_id: int | None = None,
    message_ids: list[str] | None = None,
    conversation: str | None = None,
) -> Case:
    """Open an escalation or a positive challenge and send its first emails."""
    ladder = agent.rules.ladders[agent.ladder_id]
    stage = _opening_stage(ladder, kind, fields.get("stage"))
    prefix = ladder.case_ref_prefix.formal if stage.formal else ladder.case_ref_prefix.informal
    year = now.astimezone(agent.calendar.tz).year
    case = Case(
        ref=next_ref(session, prefix, year),
        kind="escalation" if stage.formal else "challenge",
        ladder_id=ladder.id,
        child_ref=fields.get("child"),
        plan=fields.get("plan"),
        team=fields.get("team"),
        category=fields.get("category"),
        iro_email=iro_email.lower(),
        fields={k: v for k, v in fields.items() if v is not None},
        opened_at=now,
        extra={"visit": 0, "root_message_id": (message_ids or [None])[0]},
    )
    session.add(case)
    session.flush()
    for message_id in message_ids or []:
        remember_message(session, case, message_id, "in")
    remember_conversation(session, case, conversation)
    record(session, case, "opened", now, actor=iro_email, inbound_id=inbound_id,
           summary=f"{case.kind.title()} opened by the IRO")
    enter_stage(session, agent, case, ladder, stage, now, reason="opened", actor=iro_email,
                requested_days=_int(fields.get("respond_by_days")),
                respond_by=_date(fields.get("respond_by_date")))
    return case


def _opening_stage(ladder: Ladder, kind: str, requested: str | None) -> Stage:
    if requested:
        return bypass_target(ladder, requested)
    if kind == "challenge":
        informal = [s for s in ladder.stages if not s.formal]
        if informal:
            return informal[0]
    return next(s for s in ladder.stages if s.formal)


def bypass_target(ladder: Ladder, requested: str) -> Stage:
    """The stage an IRO named, if the ladder lets them go there.

    IROs write a stage as its id ("stage_3"), its number ("3", "stage 3"), its name, or a
    part of its name that only one stage has ("Head of Service"); case, spaces, hyphens
    and underscores do not matter.
    """
    wanted = _stage_key(requested)
    allowed = ladder.bypass_stages()
    for stage in allowed:
        number = stage.id.rsplit("_", 1)[-1]
        if wanted in (_stage_key(stage.id), _stage_key(stage.name), number):
            return stage
    partial = [s for s in allowed if wanted and f"_{wanted}_" in f"_{_stage_key(s.name)}_"]
    if len(partial) == 1:
        return partial[0]
    choices = ", ".join(f"{s.id} ({s.name})" for s in allowed)
    raise CaseRefused(f"there is no stage '{requested}' you can go to; the stages are: {choices}")


def _stage_key(text: str) -> str:
    """"Stage 3", "stage_3" and "STAGE-3" all become "stage_3"."""
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))


# -- stages ------------------------------------------------------------------------------


def enter_stage(
    session: Session,
    agent: Agent,
    case: Case,
    ladder: Ladder,
    stage: Stage,
    now: datetime,
    *,
    reason: str,
    actor: str | None,
    previous: Stage | None = None,
    requested_days: int | None = None,
    respond_by: date | None = None,
) -> None:
    """Move the case to `stage`, start its clock and send its emails."""
    stage = _routed(session, agent, case, ladder, stage, now)
    timing = _start_clock(agent, case, ladder, stage, now, requested_days, respond_by)
    session.add(case)
    session.flush()
    recipients = stage_recipients(agent, case, stage)
    verb = {"opened": "Opened at", "automatic": "Escalated automatically to",
            "escalated": "Escalated by the IRO to"}.get(reason, "Moved to")
    record(session, case, "stage", now, actor=actor, stage_id=stage.id,
           summary=f"{verb} {stage.name}: sent to {names(recipients.to)}",
           deadline=timing.deadline.isoformat(), to=[p.email for p in recipients.to],
           cc=[p.email for p in recipients.cc])
    _send_stage_emails(session, agent, case, ladder, stage, recipients, now, reason, previous)


def _routed(session: Session, agent: Agent, case: Case, ladder: Ladder, stage: Stage,
            now: datetime) -> Stage:
    """`stage`, or its `fallback_to` when no one holds its role ("if there is NO Service
    Manager ... the Head of Service")."""
    if people_for(agent, case, [stage.to]) or not stage.fallback_to:
        return stage
    fallback = ladder.stage(stage.fallback_to)
    record(session, case, "routed", now, stage_id=stage.id,
           summary=f"No one holds the {stage.name} role: routed to {fallback.name}")
    return fallback


def _start_clock(agent: Agent, case: Case, ladder: Ladder, stage: Stage, now: datetime,
                 requested_days: int | None, respond_by: date | None) -> cases.StageTiming:
    """Put the case at `stage` with a fresh deadline, counted from when its email can go."""
    timing = cases.stage_timing(
        agent.calendar, stage, agent.calendar.next_sending_time(now),
        requested_days=requested_days, respond_by=respond_by,
    )
    # Whoever stood in at an earlier visit of this stage may not be needed now.
    standing = {k: v for k, v in case.extra.get("stand_ins", {}).items() if k != stage.id}
    case.stage_id = stage.id
    case.stage_started_at = timing.started_at
    case.stage_deadline = timing.deadline
    case.stage_state = cases.AWAITING_RESPONSE
    case.decision_due = None
    case.paused_working_days_left = None  # escalating a paused case starts a running clock
    case.kind = "escalation" if stage.formal else case.kind
    case.extra = {**case.extra, "visit": int(case.extra.get("visit", 0)) + 1,
                  "stage_days": timing.working_days, "stand_ins": standing}
    limit = ladder.whole_process
    if limit is not None and case.process_deadline is None and (
        stage.formal or limit.starts_at == "opened"
    ):
        case.process_started_at = timing.started_at
        case.process_deadline = agent.calendar.deadline(timing.started_at, limit.working_days)
    return timing


def _send_stage_emails(
    session: Session, agent: Agent, case: Case, ladder: Ladder, stage: Stage,
    recipients: Recipients, now: datetime, reason: str, previous: Stage | None,
) -> None:
    """The stage's email (to, CC, those told separately), and the IRO's notice of it."""
    visit = case.extra["visit"]
    if not recipients.to:
        _tell_unaddressed(session, agent, case, ladder, stage, now)
        return
    # The IRO knows they are copied; the lists they read name everyone else.
    others = [p for p in recipients.cc if p.email != case.iro_email]
    to_names, cc_names = names(recipients.to), names(others)
    notify_people = people_for(agent, case, stage.notify)
    context = case_context(
        session, agent, case, ladder, to_names=to_names, cc_names=cc_names,
        notify_names=names(notify_people), recipient_name=_greeting(recipients.to),
        briefing_attached=stage.flags.director_briefing,
    )
    attachments = []
    if stage.flags.director_briefing:
        attachments.append(director_briefing(session, agent, case, ladder, now))
    send(session, agent, case, template=ladder.template_for(stage.id, "escalation"),
         context=context, to=recipients.to, cc=recipients.cc, purpose="escalation",
         key=f"{visit}:{stage.id}:escalation", now=now, working_hours=True,
         attachments=attachments)
    if notify_people:
        send(session, agent, case, template=ladder.template_for(stage.id, "escalation"),
             context={**context, "recipient_name": _greeting(notify_people)},
             to=notify_people, purpose="notify", key=f"{visit}:{stage.id}:notify", now=now,
             working_hours=True, automated=True)
    absent = [p for p in recipients.to if p.acting_for]
    if absent:
        away = [agent.directory.person_by_email(p.acting_for or "") for p in absent]
        context_dep = {**context, "absent_name": ", ".join(p.name for p in away if p),
                       "deputy_names": names(absent), "seen_ooo": False}
        send(session, agent, case, template="deputy_notice", context=context_dep,
             to=_iro(agent, case), purpose="deputy_notice", key=f"{visit}:{stage.id}:deputy",
             now=now, automated=True)
    iro = _iro(agent, case)
    if reason == "opened":
        process_text = None
        if case.process_deadline is not None:
            process_text = context_deadline(agent, case.process_deadline)
        send(session, agent, case, template=ladder.template_for(stage.id, "acknowledgment"),
             context={**context, "process_deadline_text": process_text}, to=iro,
             purpose="acknowledgment", key=f"{visit}:{stage.id}:ack", now=now, automated=True)
    elif previous is not None:
        before = stage_recipients(agent, case, previous)
        send(session, agent, case, template=ladder.template_for(stage.id, "escalated_notice"),
             context={**context, "automatic": reason == "automatic",
                      "previous_stage_name": previous.name},
             to=iro, cc=before.to + before.cc, purpose="escalated_notice",
             key=f"{visit}:{stage.id}:escalated_notice", now=now, working_hours=True,
             automated=True)


def _tell_unaddressed(session: Session, agent: Agent, case: Case, ladder: Ladder, stage: Stage,
                      now: datetime) -> None:
    """No one can receive the stage (away with no deputy, and no `fallback_to`): the IRO and
    their manager must know, or the case would wait for an answer no one was asked for."""
    record(session, case, "unaddressed", now, stage_id=stage.id,
           summary=f"No one available in the {stage.to.replace('_', ' ')} role for {stage.name}")
    send(session, agent, case, template="unaddressed",
         context=case_context(session, agent, case, ladder, role=stage.to.replace("_", " ")),
         to=_iro(agent, case), cc=people_for(agent, case, ["iro_manager"]),
         purpose="unaddressed", key=f"{case.extra['visit']}:{stage.id}:unaddressed", now=now,
         automated=True)


def escalate(
    session: Session, agent: Agent, case: Case, now: datetime, *, actor: str | None,
    to_stage: str | None = None, automatic: bool = False,
) -> Stage:
    """Move up the ladder: to the next stage, or straight to one the IRO names."""
    ladder = ladder_of(agent, case)
    current = ladder.stage(case.stage_id or ladder.first_stage.id)
    if to_stage:
        target = bypass_target(ladder, to_stage)
        if target.id == current.id:
            raise CaseRefused(f"the case is already at {current.name}")
    else:
        target = ladder.next_stage(current.id)
        if target is None:
            beyond = "; a CAFCASS referral (#cafcass) is what remains" if ladder.cafcass else ""
            raise CaseRefused(f"{current.name} is the last stage of the ladder{beyond}")
    enter_stage(session, agent, case, ladder, target, now,
                reason="automatic" if automatic else "escalated", actor=actor, previous=current)
    return target


def respond(
    session: Session, agent: Agent, case: Case, responder: Person, reply_text: str,
    now: datetime, inbound_id: int,
) -> None:
    """The stage's addressee answered: tell the IRO, who decides what happens next.

    An answer while the case is paused is passed on too; the clock stays stopped, and the
    IRO's time to decide starts when they resume it.
    """
    ladder = ladder_of(agent, case)
    paused = case.stage_state == cases.PAUSED
    if paused:
        case.extra = {**case.extra, "paused_from": cases.AWAITING_DECISION}
    else:
        case.stage_state = cases.AWAITING_DECISION
        case.decision_due = agent.calendar.deadline(now, ladder.decision_working_days)
    session.add(case)
    record(session, case, "response", now, actor=responder.email, inbound_id=inbound_id,
           stage_id=case.stage_id, summary=f"Response from {responder.name}", text=reply_text)
    context = case_context(
        session, agent, case, ladder, responder_name=responder.name, reply_text=reply_text,
        paused=paused, decision_deadline_text=context_deadline(agent, case.decision_due),
    )
    send(session, agent, case, template=ladder.template_for(case.stage_id, "response_received"),
         context=context, to=_iro(agent, case), purpose="response_received",
         key=f"response:{inbound_id}", now=now, automated=True)


def stand_in(session: Session, agent: Agent, case: Case, away: Person, now: datetime) -> str:
    """The addressee's out-of-office answered the stage's email: their deputy stands in.

    The deputy gets the stage's email and may answer for the stage; the IRO is told, once
    per stage, whether or not the directory names a deputy.
    """
    ladder = ladder_of(agent, case)
    stage = ladder.stage(case.stage_id)
    visit = case.extra.get("visit", 0)
    deputy = _deputy_of(agent, away)
    current = stage_recipients(agent, case, stage)
    if deputy is not None and deputy.email in {p.email for p in current.to}:
        return f"{case.ref}: {away.email} is away; their deputy already has the stage"
    if deputy is not None:
        standing = dict(case.extra.get("stand_ins", {}))
        standing[stage.id] = {**standing.get(stage.id, {}), deputy.email: away.email}
        case.extra = {**case.extra, "stand_ins": standing}
        session.add(case)
        record(session, case, "stand_in", now, stage_id=stage.id,
               summary=f"{away.name} is away: {deputy.name} (deputy) stands in")
    context = case_context(
        session, agent, case, ladder, to_names=names([deputy]) if deputy else "",
        cc_names="", notify_names="", recipient_name=deputy.name if deputy else "",
        briefing_attached=False, absent_name=away.name,
        deputy_names=deputy.name if deputy else "", seen_ooo=True,
    )
    if deputy is not None:
        send(session, agent, case, template=ladder.template_for(stage.id, "escalation"),
             context=context, to=[deputy.model_copy(update={"role": stage.to})],
             cc=_iro(agent, case), purpose="escalation",
             key=f"{visit}:{stage.id}:deputy:{deputy.email}", now=now, working_hours=True)
    send(session, agent, case, template="deputy_notice", context=context, to=_iro(agent, case),
         purpose="deputy_notice", key=f"{visit}:{stage.id}:ooo:{away.email}", now=now,
         automated=True)
    if deputy is None:
        return f"{case.ref}: {away.email} is away with no deputy; the IRO was told"
    return f"{case.ref}: {away.email} is away; {deputy.email} stands in"


def _deputy_of(agent: Agent, away: Person) -> Person | None:
    """Who stands in for `away`: their deputy, or the deputy's deputy if they are away too."""
    seen = {away.email}
    deputy = agent.directory.person_by_email(away.deputy) if away.deputy else None
    while deputy is not None and deputy.absent and deputy.deputy and deputy.email not in seen:
        seen.add(deputy.email)
        deputy = agent.directory.person_by_email(deputy.deputy)
    return None if deputy is None or deputy.absent else deputy


# -- the IRO's decisions -----------------------------------------------------------------


def resolve(
    session: Session, agent: Agent, case: Case, now: datetime, *, actor: str,
    outcome: str | None, learning: str | None,
) -> None:
    ladder = ladder_of(agent, case)
    stage = ladder.stage(case.stage_id)
    case.status, case.closed_at, case.stage_state = "resolved", now, None
    case.outcome, case.learning = outcome, learning
    session.add(case)
    record(session, case, "resolved", now, actor=actor, stage_id=stage.id,
           summary=f"Resolved at {stage.name}")
    everyone = stage_recipients(agent, case, stage)
    context = case_context(session, agent, case, ladder, outcome=outcome, learning=learning)
    send(session, agent, case, template=ladder.template_for(stage.id, "resolved"),
         context=context, to=everyone.to, cc=everyone.cc + people_for(agent, case, stage.notify),
         purpose="resolved", key="resolved", now=now, automated=True)
    if not (outcome and learning):
        send(session, agent, case, template="outcome_request", context=context,
             to=_iro(agent, case), purpose="outcome_request", key="outcome_request", now=now,
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


def withdraw(session: Session, agent: Agent, case: Case, now: datetime, *, actor: str,
             reason: str | None) -> None:
    ladder = ladder_of(agent, case)
    stage = ladder.stage(case.stage_id)
    case.status, case.closed_at, case.stage_state = "withdrawn", now, None
    session.add(case)
    record(session, case, "withdrawn", now, actor=actor, stage_id=stage.id,
           summary=f"Withdrawn at {stage.name}")
    _tell_stage(session, agent, case, ladder, stage, "withdrawn", now, "withdrawn",
                reason=reason)


def extend(session: Session, agent: Agent, case: Case, now: datetime, *, actor: str,
           days: int) -> None:
    if days <= 0 or days > 60:
        raise CaseRefused("#extend needs a number of working days from 1 to 60, e.g. #extend 5")
    if case.stage_state == cases.PAUSED:
        raise CaseRefused("the case is paused; #resume it first")
    ladder = ladder_of(agent, case)
    stage = ladder.stage(case.stage_id)
    # From the current deadline; once it has passed (the IRO was told and waited), from today.
    old = cases.deadline_day(agent.calendar, case.stage_deadline)
    start = old if now < case.stage_deadline else agent.calendar.receipt_day(now)
    case.stage_deadline = agent.calendar.end_of_day(agent.calendar.add_working_days(start, days))
    case.stage_state = cases.AWAITING_RESPONSE
    case.extra = {**case.extra, "extensions": int(case.extra.get("extensions", 0)) + 1}
    session.add(case)
    record(session, case, "extended", now, actor=actor, stage_id=stage.id,
           summary=f"Deadline extended by {days} working days",
           deadline=case.stage_deadline.isoformat())
    _tell_stage(session, agent, case, ladder, stage, "extended", now,
                f"extended:{case.extra['extensions']}", days=days)


def pause(session: Session, agent: Agent, case: Case, now: datetime, *, actor: str,
          reason: str | None) -> None:
    if case.stage_state == cases.PAUSED:
        raise CaseRefused("the case is already paused")
    ladder = ladder_of(agent, case)
    stage = ladder.stage(case.stage_id)
    left = cases.working_days_left(agent.calendar, case.stage_deadline, now)
    case.extra = {**case.extra, "paused_from": case.stage_state,
                  "pauses": int(case.extra.get("pauses", 0)) + 1}
    case.paused_working_days_left, case.stage_state = left, cases.PAUSED
    session.add(case)
    record(session, case, "paused", now, actor=actor, stage_id=stage.id,
           summary=f"Paused with {left} working days left" + (f": {reason}" if reason else ""))
    _tell_stage(session, agent, case, ladder, stage, "paused", now,
                f"paused:{case.extra['pauses']}", reason=reason, days_left=left)


def resume(session: Session, agent: Agent, case: Case, now: datetime, *, actor: str) -> None:
    if case.stage_state != cases.PAUSED:
        raise CaseRefused("the case is not paused")
    ladder = ladder_of(agent, case)
    stage = ladder.stage(case.stage_id)
    left = case.paused_working_days_left or 0
    start = agent.calendar.receipt_day(now)
    case.stage_deadline = agent.calendar.end_of_day(agent.calendar.add_working_days(start, left))
    case.stage_state = case.extra.get("paused_from") or cases.AWAITING_RESPONSE
    case.paused_working_days_left = None
    if case.stage_state == cases.AWAITING_DECISION:
        # The IRO's time to decide restarts too, or they would be reminded at once.
        case.decision_due = agent.calendar.deadline(now, ladder.decision_working_days)
    session.add(case)
    record(session, case, "resumed", now, actor=actor, stage_id=stage.id,
           summary=f"Resumed with {left} working days left",
           deadline=case.stage_deadline.isoformat())
    _tell_stage(session, agent, case, ladder, stage, "resumed", now,
                f"resumed:{case.extra['pauses']}")


def cafcass(session: Session, agent: Agent, case: Case, now: datetime, *, actor: str) -> None:
    """Record that a CAFCASS referral is being considered, with the council's checklist."""
    ladder = ladder_of(agent, case)
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
    notify_roles = [*route.notify, *(r for p in route.prerequisites for r in p.roles)]
    context = case_context(
        session, agent, case, ladder,
        prerequisites=[p.text for p in route.prerequisites], checklist=list(route.checklist),
    )
    send(session, agent, case, template=ladder.template_for(stage.id, "cafcass_referral"),
         context=context, to=_iro(agent, case), cc=people_for(agent, case, notify_roles),
         purpose="cafcass", key="cafcass", now=now, working_hours=True)


def note(session: Session, case: Case, now: datetime, *, actor: str, text: str,
         inbound_id: int | None) -> None:
    record(session, case, "note", now, actor=actor, inbound_id=inbound_id,
           summary="Note added by the IRO", text=text)


# -- time --------------------------------------------------------------------------------


def apply_due(session: Session, agent: Agent, case: Case, step: str, now: datetime) -> str:
    """Carry out one time-driven step from `cases.due_now`; return what was done, in words.

    Each step changes the case so that it is no longer due, and its emails carry dedupe
    keys, so a step repeated (a second sweep at the same instant) does nothing new.
    """
    steps = {
        "reminder": _remind,
        "timeout": _timeout,
        "decision_reminder": _remind_to_decide,
        "process_breach": _flag_process_breach,
    }
    if step not in steps:
        raise ValueError(f"unknown step {step!r}")
    ladder = ladder_of(agent, case)
    return steps[step](session, agent, case, ladder, ladder.stage(case.stage_id), now)


def _remind(session: Session, agent: Agent, case: Case, ladder: Ladder, stage: Stage,
            now: datetime) -> str:
    """The addressee is reminded before the deadline, copying the IRO."""
    mark = reminder_mark(case)
    case.extra = {**case.extra, "reminded": mark}
    session.add(case)
    to_people = stage_recipients(agent, case, stage).to
    row = send(session, agent, case, template=ladder.template_for(stage.id, "reminder"),
               context=case_context(session, agent, case, ladder,
                                    recipient_name=_greeting(to_people)),
               to=to_people, cc=_iro(agent, case), purpose="reminder", key=f"reminder:{mark}",
               now=now, working_hours=True, automated=True)
    if row is not None:
        record(session, case, "reminder", now, stage_id=stage.id, outbound_id=row.id,
               summary=f"Reminder sent to {names(to_people)}")
    return f"{case.ref}: reminder sent for {stage.name}"


def _remind_to_decide(session: Session, agent: Agent, case: Case, ladder: Ladder, stage: Stage,
                      now: datetime) -> str:
    """The IRO has not said what happens after a response: remind them, once per response."""
    due = case.decision_due
    case.decision_due = None
    session.add(case)
    context = case_context(session, agent, case, ladder,
                           responder_name=_last_responder(session, case),
                           decision_deadline_text=context_deadline(agent, due))
    key = f"{case.extra.get('visit', 0)}:{stage.id}:decision_reminder:"
    key += due.isoformat() if due else ""
    row = send(session, agent, case, template=ladder.template_for(stage.id, "decision_reminder"),
               context=context, to=_iro(agent, case), purpose="decision_reminder", key=key,
               now=now, working_hours=True, automated=True)
    if row is not None:
        record(session, case, "decision_reminder", now, stage_id=stage.id, outbound_id=row.id,
               summary="IRO reminded to decide")
    return f"{case.ref}: IRO reminded to decide"


def _flag_process_breach(session: Session, agent: Agent, case: Case, ladder: Ladder,
                         stage: Stage, now: datetime) -> str:
    """The whole process took longer than its limit: the managers named are told, once."""
    limit = ladder.whole_process
    case.extra = {**case.extra, "process_breach_flagged": now.isoformat()}
    session.add(case)
    record(session, case, "process_breach", now, stage_id=stage.id,
           summary="Whole-process limit passed")
    people = people_for(agent, case, limit.notify if limit else ("iro_manager", "iro"))
    managers = [p for p in people if p.email != case.iro_email]
    send(session, agent, case, template=ladder.template_for(stage.id, "whole_process_breach"),
         context=case_context(session, agent, case, ladder,
                              limit_days=limit.working_days if limit else 0,
                              process_deadline_text=context_deadline(
                                  agent, case.process_deadline)),
         to=managers or people, cc=_iro(agent, case), purpose="process_breach",
         key="process_breach", now=now, working_hours=True, automated=True)
    return f"{case.ref}: whole-process limit breach flagged"


def _timeout(session: Session, agent: Agent, case: Case, ladder: Ladder, stage: Stage,
             now: datetime) -> str:
    """No response by the deadline: up to the next stage, or tell the IRO and their manager
    and wait, as the stage says; never both (the case leaves the state that was due)."""
    record(session, case, "deadline_passed", now, stage_id=stage.id,
           summary=f"No response by the deadline at {stage.name}")
    following = ladder.next_stage(stage.id)
    if stage.on_timeout == "escalate" and following is not None:
        escalate(session, agent, case, now, actor=None, automatic=True)
        return f"{case.ref}: no response at {stage.name}; escalated to {following.name}"
    case.stage_state = cases.OVERDUE
    session.add(case)
    send(session, agent, case, template=ladder.template_for(stage.id, "overdue_notice"),
         context=case_context(session, agent, case, ladder,
                              to_names=names(stage_recipients(agent, case, stage).to)),
         to=_iro(agent, case), cc=people_for(agent, case, ["iro_manager"]),
         purpose="overdue_notice", key=f"{case.extra.get('visit')}:{stage.id}:overdue",
         now=now, working_hours=True, automated=True)
    return f"{case.ref}: no response at {stage.name}; IRO and IRO's manager told"


# -- helpers -----------------------------------------------------------------------------


def reminder_mark(case: Case) -> str:
    """Names the deadline a reminder is for: one reminder per stage visit and deadline, so
    an extended or resumed stage is reminded again before its new deadline."""
    deadline = case.stage_deadline.isoformat() if case.stage_deadline else ""
    return f"{case.extra.get('visit', 0)}:{case.stage_id}:{deadline}"


def ladder_of(agent: Agent, case: Case) -> Ladder:
    return agent.rules.ladders[case.ladder_id or agent.ladder_id]


def record(session: Session, case: Case, kind: str, now: datetime, *, summary: str,
           actor: str | None = None, stage_id: str | None = None, inbound_id: int | None = None,
           outbound_id: int | None = None, **detail: Any) -> CaseEvent:
    event = CaseEvent(case_id=case.id, at=now, kind=kind, stage_id=stage_id or case.stage_id,
                      actor=actor, inbound_id=inbound_id, outbound_id=outbound_id,
                      detail={"summary": summary, **detail})
    session.add(event)
    session.flush()
    return event


def remember_message(session: Session, case: Case, message_id: str | None, direction: str) -> None:
    if message_id and session.get(MessageRef, message_id) is None:
        session.add(MessageRef(message_id=message_id, case_id=case.id, direction=direction))
        session.flush()


def remember_conversation(session: Session, case: Case, conversation: str | None) -> None:
    if conversation and session.get(ConversationRef, conversation) is None:
        session.add(ConversationRef(conversation=conversation, case_id=case.id))
        session.flush()


def context_deadline(agent: Agent, at: datetime | None) -> str:
    from mailagent.notify import deadline_words

    return deadline_words(agent, at)[0]


def _tell_stage(session: Session, agent: Agent, case: Case, ladder: Ladder, stage: Stage,
                purpose: str, now: datetime, key: str, **extra: Any) -> None:
    everyone = stage_recipients(agent, case, stage)
    send(session, agent, case, template=ladder.template_for(stage.id, purpose),
         context=case_context(session, agent, case, ladder, **extra), to=everyone.to,
         cc=everyone.cc, purpose=purpose, key=key, now=now, automated=True)


def _iro(agent: Agent, case: Case) -> list[Person]:
    return people_for(agent, case, ["iro"])


def _greeting(people: list[Person]) -> str:
    return " and ".join(p.name for p in people) or "colleague"


def _last_responder(session: Session, case: Case) -> str:
    event = session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "response")
        .order_by(sa.desc(CaseEvent.id))
    ).first()
    return event.detail.get("summary", "").removeprefix("Response from ") if event else "?"


def director_briefing(session: Session, agent: Agent, case: Case, ladder: Ladder,
                      now: datetime) -> Attachment:
    """The QA policy's Director's briefing note, pre-filled from the case, as an attachment."""
    context = case_context(session, agent, case, ladder,
                           today_text=agent.calendar.format_day(
                               now.astimezone(agent.calendar.tz).date()))
    rendered = agent.renderer.render(ladder.template_for(case.stage_id, "director_briefing"),
                                     context)
    return Attachment(f"director-briefing-{case.ref}.html", rendered.html.encode(),
                      "text/html")


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
