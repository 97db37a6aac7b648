"""The escalation state machine: opening a case, entering and leaving stages, responses,
and deputies standing in.

Each function runs inside the caller's transaction, so a case's new state, its timeline
entry and its outgoing emails are committed together or not at all. Emails are queued with
dedupe keys that name the stage visit and the step, so replaying a step queues nothing new."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from mailagent.cases import timing
from mailagent.cases.notify import case_context, deadline_text, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused
from mailagent.cases.recipients import (
    Recipients,
    greeting,
    iro_of,
    names,
    people_for,
    stage_recipients,
)
from mailagent.cases.timeline import next_ref, record, remember_conversation, remember_message
from mailagent.policy.directory import Person
from mailagent.policy.ladder import Ladder, Stage
from mailagent.store.models import Case, StandIn
from mailagent.store.outbox import Attachment

log = logging.getLogger(__name__)


def open_case(
    session: Session,
    office: Office,
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
    ladder = office.rules.ladders[office.ladder_id]
    stage = _opening_stage(ladder, kind, fields.get("stage"))
    # The kind of work fixes the reference's prefix (rules/tags.toml): a case that opens at
    # an informal stage is a positive challenge until it goes formal.
    prefix = office.vocabulary.tags["escalation" if stage.formal else "challenge"].ref_prefix
    year = now.astimezone(office.calendar.tz).year
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
        root_message_id=(message_ids or [None])[0],
    )
    session.add(case)
    session.flush()
    for message_id in message_ids or []:
        remember_message(session, case, message_id, "in")
    remember_conversation(session, case, conversation)
    record(session, case, "opened", now, actor=iro_email, inbound_id=inbound_id,
           summary=f"{case.kind.title()} opened by the IRO")
    enter_stage(session, office, case, ladder, stage, now, reason="opened", actor=iro_email,
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


def enter_stage(
    session: Session,
    office: Office,
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
    stage = _routed(session, office, case, ladder, stage, now)
    times = _start_clock(office, case, ladder, stage, now, requested_days, respond_by)
    session.add(case)
    session.flush()
    recipients = stage_recipients(office, case, stage)
    verb = {"opened": "Opened at", "automatic": "Escalated automatically to",
            "escalated": "Escalated by the IRO to"}.get(reason, "Moved to")
    record(session, case, "stage", now, actor=actor, stage_id=stage.id,
           summary=f"{verb} {stage.name}: sent to {names(recipients.to)}",
           deadline=times.deadline.isoformat(), to=[p.email for p in recipients.to],
           cc=[p.email for p in recipients.cc])
    _send_stage_emails(session, office, case, ladder, stage, recipients, now, reason, previous)


def _routed(session: Session, office: Office, case: Case, ladder: Ladder, stage: Stage,
            now: datetime) -> Stage:
    """`stage`, or its `fallback_to` when no one holds its role ("if there is NO Service
    Manager ... the Head of Service")."""
    if people_for(office, case, [stage.to]) or not stage.fallback_to:
        return stage
    fallback = ladder.stage(stage.fallback_to)
    record(session, case, "routed", now, stage_id=stage.id,
           summary=f"No one holds the {stage.name} role: routed to {fallback.name}")
    return fallback


def _start_clock(office: Office, case: Case, ladder: Ladder, stage: Stage, now: datetime,
                 requested_days: int | None, respond_by: date | None) -> timing.StageTiming:
    """Put the case at `stage` with a fresh deadline, counted from when its email can go."""
    times = timing.stage_timing(
        office.calendar, stage, office.calendar.next_sending_time(now),
        requested_days=requested_days, respond_by=respond_by,
    )
    # Whoever stood in at an earlier visit of this stage may not be needed now.
    case.stand_ins = [s for s in case.stand_ins if s.stage_id != stage.id]
    case.stage_id = stage.id
    case.stage_started_at = times.started_at
    case.stage_deadline = times.deadline
    case.stage_state = timing.AWAITING_RESPONSE
    case.decision_due = None
    case.paused_working_days_left = None  # escalating a paused case starts a running clock
    case.kind = "escalation" if stage.formal else case.kind
    case.stage_visit += 1
    case.stage_working_days = times.working_days
    case.reminded_for = None
    limit = ladder.whole_process
    if limit is not None and case.process_deadline is None and (
        stage.formal or limit.starts_at == "opened"
    ):
        case.process_started_at = times.started_at
        case.process_deadline = office.calendar.deadline(times.started_at, limit.working_days)
    return times


def _send_stage_emails(
    session: Session, office: Office, case: Case, ladder: Ladder, stage: Stage,
    recipients: Recipients, now: datetime, reason: str, previous: Stage | None,
) -> None:
    """The stage's email (to, CC, those told separately), and the IRO's notice of it."""
    visit = case.stage_visit
    if not recipients.to:
        _tell_unaddressed(session, office, case, ladder, stage, now)
        return
    # The IRO knows they are copied; the lists they read name everyone else.
    others = [p for p in recipients.cc if p.email != case.iro_email]
    to_names, cc_names = names(recipients.to), names(others)
    notify_people = people_for(office, case, stage.notify)
    context = case_context(
        session, office, case, ladder, to_names=to_names, cc_names=cc_names,
        notify_names=names(notify_people), recipient_name=greeting(recipients.to),
        briefing_attached=stage.flags.director_briefing,
    )
    attachments = []
    if stage.flags.director_briefing:
        attachments.append(director_briefing(session, office, case, ladder, now))
    send(session, office, case, template=ladder.template_for(stage.id, "escalation"),
         context=context, to=recipients.to, cc=recipients.cc, purpose="escalation",
         key=f"{visit}:{stage.id}:escalation", now=now, working_hours=True,
         attachments=attachments)
    if notify_people:
        send(session, office, case, template=ladder.template_for(stage.id, "escalation"),
             context={**context, "recipient_name": greeting(notify_people)},
             to=notify_people, purpose="notify", key=f"{visit}:{stage.id}:notify", now=now,
             working_hours=True, automated=True)
    absent = [p for p in recipients.to if p.acting_for]
    if absent:
        away = [office.directory.person_by_email(p.acting_for or "") for p in absent]
        context_dep = {**context, "absent_name": ", ".join(p.name for p in away if p),
                       "deputy_names": names(absent), "seen_ooo": False}
        send(session, office, case, template="deputy_notice", context=context_dep,
             to=iro_of(office, case), purpose="deputy_notice", key=f"{visit}:{stage.id}:deputy",
             now=now, automated=True)
    iro = iro_of(office, case)
    if reason == "opened":
        process_text = None
        if case.process_deadline is not None:
            process_text = deadline_text(office, case.process_deadline)
        send(session, office, case, template=ladder.template_for(stage.id, "acknowledgment"),
             context={**context, "process_deadline_text": process_text}, to=iro,
             purpose="acknowledgment", key=f"{visit}:{stage.id}:ack", now=now, automated=True)
    elif previous is not None:
        before = stage_recipients(office, case, previous)
        send(session, office, case, template=ladder.template_for(stage.id, "escalated_notice"),
             context={**context, "automatic": reason == "automatic",
                      "previous_stage_name": previous.name},
             to=iro, cc=before.to + before.cc, purpose="escalated_notice",
             key=f"{visit}:{stage.id}:escalated_notice", now=now, working_hours=True,
             automated=True)


def _tell_unaddressed(session: Session, office: Office, case: Case, ladder: Ladder, stage: Stage,
                      now: datetime) -> None:
    """No one can receive the stage (away with no deputy, and no `fallback_to`): the IRO and
    their manager must know, or the case would wait for an answer no one was asked for."""
    record(session, case, "unaddressed", now, stage_id=stage.id,
           summary=f"No one available in the {stage.to.replace('_', ' ')} role for {stage.name}")
    send(session, office, case, template="unaddressed",
         context=case_context(session, office, case, ladder, role=stage.to.replace("_", " ")),
         to=iro_of(office, case), cc=people_for(office, case, ["iro_manager"]),
         purpose="unaddressed", key=f"{case.stage_visit}:{stage.id}:unaddressed", now=now,
         automated=True)


def escalate(
    session: Session, office: Office, case: Case, now: datetime, *, actor: str | None,
    to_stage: str | None = None, automatic: bool = False,
) -> Stage:
    """Move up the ladder: to the next stage, or straight to one the IRO names."""
    ladder = office.ladder_of(case)
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
    enter_stage(session, office, case, ladder, target, now,
                reason="automatic" if automatic else "escalated", actor=actor, previous=current)
    return target


def respond(
    session: Session, office: Office, case: Case, responder: Person, reply_text: str,
    now: datetime, inbound_id: int,
) -> None:
    """The stage's addressee answered: tell the IRO, who decides what happens next.

    An answer while the case is paused is passed on too; the clock stays stopped, and the
    IRO's time to decide starts when they resume it.
    """
    ladder = office.ladder_of(case)
    paused = case.stage_state == timing.PAUSED
    if paused:
        case.paused_from = timing.AWAITING_DECISION
    else:
        case.stage_state = timing.AWAITING_DECISION
        case.decision_due = office.calendar.deadline(now, ladder.decision_working_days)
    session.add(case)
    record(session, case, "response", now, actor=responder.email, inbound_id=inbound_id,
           stage_id=case.stage_id, summary=f"Response from {responder.name}", text=reply_text)
    context = case_context(
        session, office, case, ladder, responder_name=responder.name, reply_text=reply_text,
        paused=paused, decision_deadline_text=deadline_text(office, case.decision_due),
    )
    send(session, office, case, template=ladder.template_for(case.stage_id, "response_received"),
         context=context, to=iro_of(office, case), purpose="response_received",
         key=f"response:{inbound_id}", now=now, automated=True)


def stand_in(session: Session, office: Office, case: Case, away: Person, now: datetime) -> str:
    """The addressee's out-of-office answered the stage's email: their deputy stands in.

    The deputy gets the stage's email and may answer for the stage; the IRO is told, once
    per stage, whether or not the directory names a deputy.
    """
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.stage_id)
    visit = case.stage_visit
    deputy = _deputy_of(office, away)
    current = stage_recipients(office, case, stage)
    if deputy is not None and deputy.email in {p.email for p in current.to}:
        return f"{case.ref}: {away.email} is away; their deputy already has the stage"
    if deputy is not None:
        case.stand_ins.append(StandIn(stage_id=stage.id, deputy_email=deputy.email,
                                      absent_email=away.email))
        session.add(case)
        record(session, case, "stand_in", now, stage_id=stage.id,
               summary=f"{away.name} is away: {deputy.name} (deputy) stands in")
    context = case_context(
        session, office, case, ladder, to_names=names([deputy]) if deputy else "",
        cc_names="", notify_names="", recipient_name=deputy.name if deputy else "",
        briefing_attached=False, absent_name=away.name,
        deputy_names=deputy.name if deputy else "", seen_ooo=True,
    )
    if deputy is not None:
        send(session, office, case, template=ladder.template_for(stage.id, "escalation"),
             context=context, to=[deputy.model_copy(update={"role": stage.to})],
             cc=iro_of(office, case), purpose="escalation",
             key=f"{visit}:{stage.id}:deputy:{deputy.email}", now=now, working_hours=True)
    send(session, office, case, template="deputy_notice", context=context, to=iro_of(office, case),
         purpose="deputy_notice", key=f"{visit}:{stage.id}:ooo:{away.email}", now=now,
         automated=True)
    if deputy is None:
        return f"{case.ref}: {away.email} is away with no deputy; the IRO was told"
    return f"{case.ref}: {away.email} is away; {deputy.email} stands in"


def _deputy_of(office: Office, away: Person) -> Person | None:
    """Who stands in for `away`: their deputy, or the deputy's deputy if they are away too."""
    seen = {away.email}
    deputy = office.directory.person_by_email(away.deputy) if away.deputy else None
    while deputy is not None and deputy.absent and deputy.deputy and deputy.email not in seen:
        seen.add(deputy.email)
        deputy = office.directory.person_by_email(deputy.deputy)
    return None if deputy is None or deputy.absent else deputy


def director_briefing(session: Session, office: Office, case: Case, ladder: Ladder,
                      now: datetime) -> Attachment:
    """The QA policy's Director's briefing note, pre-filled from the case, as an attachment."""
    context = case_context(session, office, case, ladder,
                           today_text=office.calendar.format_day(
                               now.astimezone(office.calendar.tz).date()))
    rendered = office.renderer.render(ladder.template_for(case.stage_id, "director_briefing"),
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
