"""The quarterly report's section on collective alerts: the update for the Children's
Senior Management Team and the Corporate Parenting Board.

"The IRO Group Manager ... will follow up on progress being made at four weekly intervals
and updates presented to Children's Senior Management Team and Corporate Parenting Board
until an agreed resolution has been reached." (collective alerts protocol)

Every alert open at some moment of the quarter, as it stood at the quarter's end (or now):
whom it was raised with and when, acknowledgment and response, the latest reply in its
author's words, the plan's actions and their status, and what is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from mailagent.app import Agent
from mailagent.cases.alert_common import FROM_RAISED_WITH, alert_of, raised_with
from mailagent.cases.alert_plan import plan_facts
from mailagent.cases.recipients import names
from mailagent.mail.quotes import excerpt
from mailagent.reports.history import local_day
from mailagent.store.models import Case, CollectiveAlert


@dataclass(frozen=True)
class AlertAction:
    number: int
    text: str
    status: str
    overdue: bool


@dataclass(frozen=True)
class AlertProgress:
    ref: str
    theme: str
    opened: date
    raised_in_period: bool  # drafted in the quarter (the count of alerts raised)
    status: str  # in words, as it stood
    raised_with: str
    raised_on: date | None
    acknowledged: date | None
    responded: date | None
    latest: str  # "Hannah Osei, 10 Feb 2027: ..." or ""
    actions: tuple[AlertAction, ...]
    overdue: tuple[str, ...]
    followups: int
    resolved: date | None
    outcome: str


def alerts_during(session: Session, agent: Agent, start: datetime, end: datetime,
                  as_at: datetime) -> tuple[AlertProgress, ...]:
    query = (
        select(Case)
        .where(Case.kind == "collective_alert", Case.opened_at < end,
               sa.or_(Case.closed_at.is_(None), Case.closed_at >= start))  # type: ignore[union-attr]
        .order_by(Case.opened_at, Case.id)  # type: ignore[arg-type]
        .options(selectinload(Case.alert).selectinload(CollectiveAlert.replies),  # type: ignore[arg-type]
                 selectinload(Case.alert).selectinload(CollectiveAlert.actions))  # type: ignore[arg-type]
    )
    return tuple(_progress(agent, case, start, as_at) for case in session.exec(query))


def _progress(agent: Agent, case: Case, start: datetime, as_at: datetime) -> AlertProgress:
    alert, cal = alert_of(case), agent.calendar

    def by(at: datetime | None) -> date | None:
        return local_day(cal, at) if at is not None and at <= as_at else None

    raised_on = alert.raised_on if alert.raised_on and alert.raised_on <= local_day(
        cal, as_at) else None
    closed = case.closed_at is not None and case.closed_at <= as_at
    replies = [r for r in alert.replies if r.step in FROM_RAISED_WITH and r.at <= as_at]
    latest = ""
    if replies:
        last = replies[-1]
        who = agent.directory.person_by_email(last.author)
        latest = (f"{who.name if who else last.author}, {local_day(cal, last.at):%d %b %Y}: "
                  f"{excerpt(last.text, 500)}")
    plan = plan_facts(agent, case, as_at)
    return AlertProgress(
        ref=case.ref, theme=str(case.fields.get("theme") or ""),
        opened=local_day(cal, case.opened_at), raised_in_period=case.opened_at >= start,
        status=_status(case, closed, raised_on, by(alert.acknowledged_at),
                       by(alert.responded_at)),
        raised_with=names(raised_with(agent, case)) if raised_on else "",
        raised_on=raised_on, acknowledged=by(alert.acknowledged_at),
        responded=by(alert.responded_at), latest=latest,
        actions=tuple(AlertAction(a["number"], a["text"], a["status"], a["overdue"])
                      for a in plan["actions"]),
        overdue=tuple(plan["overdue"]),
        followups=sum(1 for r in alert.replies if r.followup and r.at <= as_at),
        resolved=by(case.closed_at) if case.status == "resolved" else None,
        outcome=(case.outcome or "") if closed else "",
    )


def _status(case: Case, closed: bool, raised_on: date | None, acknowledged: date | None,
            responded: date | None) -> str:
    if closed:
        return {"resolved": "Resolved", "returned": "Returned to the IROs"}.get(
            case.status, case.status.capitalize())
    if raised_on is None:
        return "Being drafted or agreed"
    if responded is not None:
        return "Answered; followed up every 4 weeks"
    if acknowledged is not None:
        return "Acknowledged; detailed response awaited"
    return "Raised; acknowledgment awaited"
