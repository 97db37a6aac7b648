"""The time-driven steps of an escalation: reminders, timeouts, the IRO's decision
reminder and the whole-process limit; what is due for a case, and doing it once."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.cases import escalation, timing
from mailagent.cases.notify import case_context, deadline_text, send
from mailagent.cases.office import Office
from mailagent.cases.recipients import greeting, iro_of, names, people_for, stage_recipients
from mailagent.cases.timeline import record
from mailagent.policy.ladder import Ladder, Stage
from mailagent.store.models import Case, CaseEvent

log = logging.getLogger(__name__)


def due_steps(office: Office, case: Case, now: datetime) -> list[str]:
    """The steps due for an escalation at `now`, less a reminder already sent."""
    steps = timing.due_now(_clock(case), office.ladder_of(case), office.calendar, now)
    # A reminder already queued for this deadline is not due again.
    if "reminder" in steps and _reminded(case):
        steps.remove("reminder")
    return steps


def next_due_at(office: Office, case: Case) -> datetime | None:
    """When the sweep must next look at this escalation (see `timing.next_due`)."""
    return timing.next_due(_clock(case), office.ladder_of(case), office.calendar,
                           reminded=_reminded(case))


def _reminded(case: Case) -> bool:
    return case.reminded_for is not None and case.reminded_for == case.stage_deadline


def _clock(case: Case) -> timing.CaseClock:
    return timing.CaseClock(
        status=case.status,
        stage_state=case.stage_state,
        stage_started_at=case.stage_started_at,
        stage_deadline=case.stage_deadline,
        decision_due=case.decision_due,
        process_deadline=case.process_deadline,
        process_breach_flagged=case.process_breach_at is not None,
    )


def describe_due(office: Office, case: Case, step: str) -> str:
    """What a due step would do, in words, for --dry-run."""
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.stage_id or ladder.first_stage.id)
    following = ladder.next_stage(stage.id)
    if step == "timeout" and stage.on_timeout == "escalate" and following is not None:
        return f"escalate from {stage.name} to {following.name} (no response by the deadline)"
    return {
        "timeout": f"tell the IRO and their manager: no response at {stage.name}",
        "reminder": f"remind {stage.name} that a response is due",
        "decision_reminder": "remind the IRO to decide",
        "process_breach": "flag the whole-process limit as passed",
    }.get(step, step.replace("_", " "))


def apply_due(session: Session, office: Office, case: Case, step: str, now: datetime) -> str:
    """Carry out one time-driven step from `timing.due_now`; return what was done, in words.

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
    ladder = office.ladder_of(case)
    return steps[step](session, office, case, ladder, ladder.stage(case.stage_id), now)


def _remind(session: Session, office: Office, case: Case, ladder: Ladder, stage: Stage,
            now: datetime) -> str:
    """The addressee is reminded before the deadline, copying the IRO."""
    mark = reminder_mark(case)
    case.reminded_for = case.stage_deadline
    session.add(case)
    to_people = stage_recipients(office, case, stage).to
    row = send(session, office, case, template=ladder.template_for(stage.id, "reminder"),
               context=case_context(session, office, case, ladder,
                                    recipient_name=greeting(to_people)),
               to=to_people, cc=iro_of(office, case), purpose="reminder", key=f"reminder:{mark}",
               now=now, working_hours=True, automated=True)
    if row is not None:
        record(session, case, "reminder", now, stage_id=stage.id, outbound_id=row.id,
               summary=f"Reminder sent to {names(to_people)}")
    return f"{case.ref}: reminder sent for {stage.name}"


def _remind_to_decide(session: Session, office: Office, case: Case, ladder: Ladder, stage: Stage,
                      now: datetime) -> str:
    """The IRO has not said what happens after a response: remind them, once per response."""
    due = case.decision_due
    case.decision_due = None
    session.add(case)
    context = case_context(session, office, case, ladder,
                           responder_name=_last_responder(session, case),
                           decision_deadline_text=deadline_text(office, due))
    key = f"{case.stage_visit}:{stage.id}:decision_reminder:"
    key += due.isoformat() if due else ""
    row = send(session, office, case, template=ladder.template_for(stage.id, "decision_reminder"),
               context=context, to=iro_of(office, case), purpose="decision_reminder", key=key,
               now=now, working_hours=True, automated=True)
    if row is not None:
        record(session, case, "decision_reminder", now, stage_id=stage.id, outbound_id=row.id,
               summary="IRO reminded to decide")
    return f"{case.ref}: IRO reminded to decide"


def _flag_process_breach(session: Session, office: Office, case: Case, ladder: Ladder,
                         stage: Stage, now: datetime) -> str:
    """The whole process took longer than its limit: the managers named are told, once."""
    limit = ladder.whole_process
    case.process_breach_at = now
    session.add(case)
    record(session, case, "process_breach", now, stage_id=stage.id,
           summary="Whole-process limit passed")
    people = people_for(office, case, limit.notify if limit else ("iro_manager", "iro"))
    managers = [p for p in people if p.email != case.iro_email]
    send(session, office, case, template=ladder.template_for(stage.id, "whole_process_breach"),
         context=case_context(session, office, case, ladder,
                              limit_days=limit.working_days if limit else 0,
                              process_deadline_text=deadline_text(
                                  office, case.process_deadline)),
         to=managers or people, cc=iro_of(office, case), purpose="process_breach",
         key="process_breach", now=now, working_hours=True, automated=True)
    return f"{case.ref}: whole-process limit breach flagged"


def _timeout(session: Session, office: Office, case: Case, ladder: Ladder, stage: Stage,
             now: datetime) -> str:
    """No response by the deadline: up to the next stage, or tell the IRO and their manager
    and wait, as the stage says; never both (the case leaves the state that was due)."""
    record(session, case, "deadline_passed", now, stage_id=stage.id,
           summary=f"No response by the deadline at {stage.name}")
    following = ladder.next_stage(stage.id)
    if stage.on_timeout == "escalate" and following is not None:
        escalation.escalate(session, office, case, now, actor=None, automatic=True)
        return f"{case.ref}: no response at {stage.name}; escalated to {following.name}"
    case.stage_state = timing.OVERDUE
    session.add(case)
    send(session, office, case, template=ladder.template_for(stage.id, "overdue_notice"),
         context=case_context(session, office, case, ladder,
                              to_names=names(stage_recipients(office, case, stage).to)),
         to=iro_of(office, case), cc=people_for(office, case, ["iro_manager"]),
         purpose="overdue_notice", key=f"{case.stage_visit}:{stage.id}:overdue",
         now=now, working_hours=True, automated=True)
    return f"{case.ref}: no response at {stage.name}; IRO and IRO's manager told"


def reminder_mark(case: Case) -> str:
    """Names the deadline a reminder is for: one reminder per stage visit and deadline, so
    an extended or resumed stage is reminded again before its new deadline."""
    deadline = case.stage_deadline.isoformat() if case.stage_deadline else ""
    return f"{case.stage_visit}:{case.stage_id}:{deadline}"


def _last_responder(session: Session, case: Case) -> str:
    event = session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "response")
        .order_by(sa.desc(CaseEvent.id))
    ).first()
    return event.detail.get("summary", "").removeprefix("Response from ") if event else "?"
