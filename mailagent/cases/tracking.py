"""A council's tracking record of its disputes, and the officer who keeps it.

Brent: "The IRO should raise the concerns in writing with the relevant Service Manager and
the Review, Engagement & Participation Principal Officer, who will acknowledge the receipt of
the complaint / Dispute and will inform the LAC review administrator (BIBS) ... At this point
the complaint should be recorded by the reviewing administrator who will inter this in to a
spread sheet. This will be kept in the shared drive as a record of the child, the matter in
dispute and the date it was raised with the Service Manager." The spreadsheet's purpose: to
monitor the issues taken to team managers and above, their themes, the responses and
timescales.

When a case first reaches one of the ladder's `[tracking] stages`, the role `by` is asked to
acknowledge it, to do the policy's `tasks`, and shown the row mailagent keeps for the record
(the quarterly report's case list carries the same columns). Their reply is the
acknowledgment; until it comes they are reminded every `remind_working_days`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailagent.cases.cafcass import after_working_days
from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome
from mailagent.cases.recipients import greeting, iro_of, people_for
from mailagent.cases.timeline import record
from mailagent.policy.directory import Person
from mailagent.store.models import Case, TrackingRecord

REMINDER = "tracking_reminder"


def follow(session: Session, office: Office, case: Case, now: datetime) -> list[str]:
    """At a tracking stage for the first time: the keeper of the record is asked."""
    route = office.ladder_of(case).tracking
    if route is None or case.tracking is not None or case.status != "open":
        return []
    if case.stage_id not in route.stages:
        return []
    keepers = people_for(office, case, [route.by])
    if not keepers:
        return []
    case.tracking = TrackingRecord(stage_id=case.stage_id, asked_at=now)
    session.add(case)
    record(session, case, "tracking_asked", now,
           summary=f"{_names(keepers)} asked to acknowledge the dispute and record it",
           to=[p.email for p in keepers])
    _send(session, office, case, keepers, now, "tracking_request", key="tracking")
    return [f"{case.ref}: tracking record asked for"]


def reminder_at(office: Office, case: Case) -> datetime | None:
    """When the keeper is next to be reminded to acknowledge; None if they are not to be."""
    route = office.ladder_of(case).tracking
    found = case.tracking
    if route is None or found is None or found.acknowledged_at or case.status != "open":
        return None
    return after_working_days(office, found.reminded_at or found.asked_at,
                              route.remind_working_days)


def remind(session: Session, office: Office, case: Case, now: datetime) -> str:
    route = office.ladder_of(case).tracking
    assert route is not None and case.tracking is not None
    case.tracking.reminded_at = now
    session.add(case)
    keepers = people_for(office, case, [route.by])
    record(session, case, REMINDER, now, summary=f"{_names(keepers)} reminded to acknowledge")
    _send(session, office, case, keepers, now, REMINDER, key=f"{REMINDER}:{now.isoformat()}")
    return f"{case.ref}: keeper of the tracking record reminded"


def acknowledge(session: Session, office: Office, case: Case, sender: str, now: datetime,
                inbound_id: int) -> Outcome | None:
    """The keeper's reply to the request is their acknowledgment; None if it is not one."""
    route = office.ladder_of(case).tracking
    found = case.tracking
    if route is None or found is None or found.acknowledged_at is not None:
        return None
    keeper = next((p for p in people_for(office, case, [route.by]) if p.email == sender), None)
    if keeper is None:
        return None
    found.acknowledged_at, found.acknowledged_by = now, sender
    session.add(case)
    record(session, case, "tracking_acknowledged", now, actor=sender, inbound_id=inbound_id,
           summary=f"Dispute acknowledged by {keeper.name} for the tracking record")
    return Outcome("processed", case_ref=case.ref,
                   summary=f"{case.ref}: acknowledged for the tracking record")


def _send(session: Session, office: Office, case: Case, keepers: list[Person], now: datetime,
          template: str, *, key: str) -> None:
    route = office.ladder_of(case).tracking
    assert route is not None and case.tracking is not None
    ladder = office.ladder_of(case)
    stage = ladder.stage(case.tracking.stage_id)
    context = case_context(
        session, office, case, ladder, recipient_name=greeting(keepers),
        tasks=list(route.tasks), tracked_stage=stage.name, policy_quote=route.policy,
        tracked_on=office.calendar.format_day(
            case.tracking.asked_at.astimezone(office.calendar.tz).date()),
    )
    send(session, office, case, template=template, context=context, to=keepers,
         cc=iro_of(office, case), purpose=template, key=key, now=now, working_hours=True,
         automated=template == REMINDER)


def _names(people: list[Person]) -> str:
    return ", ".join(p.name for p in people)
