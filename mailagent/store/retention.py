"""Keeping children's data no longer than the council's schedule says (`mailagent purge`).

Two clocks, both counted in calendar months (`[retention]`):

- raw mail: the bytes of every email in and out of a case (text, attachments), once the
  case has been closed that long; and of mail that belongs to no case (help, corrections,
  quarantine), once it arrived that long ago. The rows stay, emptied and dated, so the
  case's timeline still says an email came and went, and a message seen again is still
  known.
- the case record: the case, its timeline, its people, its references and its emails'
  rows, once it has been closed that long (only when the council sets the period;
  `case export` is how the record reaches the child's file first).

Mail still waiting to be sent, and every open case, are never touched. A purge reports
counts only: it is logged, and nothing in it names a child.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mailagent.store.models import (
    AlertAction,
    AlertReply,
    Case,
    CaseEvent,
    CollectiveAlert,
    ConversationRef,
    Inbound,
    MessageRef,
    Outbound,
    Participant,
    StandIn,
)

UNSENT = ("queued", "sending")


@dataclass(frozen=True)
class PurgeReport:
    inbound_emptied: int = 0
    outbound_emptied: int = 0
    cases_deleted: int = 0

    def __str__(self) -> str:
        return (f"raw mail removed from {self.inbound_emptied} received and "
                f"{self.outbound_emptied} sent emails; {self.cases_deleted} case records "
                "deleted")


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day if
    that month is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def purge(
    session: Session, now: datetime, *, raw_mail_months: int,
    case_record_months: int | None, dry_run: bool = False,
) -> PurgeReport:
    """Remove what the schedule says is due, in the caller's transaction; with `dry_run`,
    only count it."""
    mail_cutoff = months_before(now, raw_mail_months)
    closed_long = select(Case.id).where(Case.closed_at.is_not(None),  # type: ignore[union-attr]
                                        Case.closed_at < mail_cutoff)
    inbound = (
        select(Inbound.id)
        .where(Inbound.purged_at.is_(None),  # type: ignore[union-attr]
               Inbound.status.in_(("processed", "quarantined")))  # type: ignore[attr-defined]
        .where(sa.or_(Inbound.case_id.in_(closed_long),  # type: ignore[union-attr]
                      sa.and_(Inbound.case_id.is_(None),  # type: ignore[union-attr]
                              Inbound.received_at < mail_cutoff)))
    )
    outbound = (
        select(Outbound.id)
        .where(Outbound.purged_at.is_(None),  # type: ignore[union-attr]
               Outbound.status.not_in(UNSENT))  # type: ignore[attr-defined]
        .where(sa.or_(Outbound.case_id.in_(closed_long),  # type: ignore[union-attr]
                      sa.and_(Outbound.case_id.is_(None),  # type: ignore[union-attr]
                              Outbound.created_at < mail_cutoff)))
    )
    inbound_ids = list(session.exec(inbound))
    outbound_ids = list(session.exec(outbound))
    cases: list[int] = []
    if case_record_months is not None:
        record_cutoff = months_before(now, case_record_months)
        cases = [i for i in session.exec(
            select(Case.id).where(Case.closed_at.is_not(None),  # type: ignore[union-attr]
                                  Case.closed_at < record_cutoff)) if i is not None]
    report = PurgeReport(len(inbound_ids), len(outbound_ids), len(cases))
    if dry_run:
        return report
    _empty(session, Inbound, inbound_ids, now)
    _empty(session, Outbound, outbound_ids, now)
    _delete_cases(session, cases)
    return report


def _empty(session: Session, table: type[Inbound] | type[Outbound], ids: list[int],
           now: datetime) -> None:
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(
            sa.update(table).where(table.id.in_(chunk))  # type: ignore[union-attr]
            .values(raw=b"", purged_at=now)
        )


def _delete_cases(session: Session, ids: list[int]) -> None:
    """A case and everything that hangs off it, each table before the ones it refers to."""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        hanging: list[tuple[Any, Any]] = [
            (CaseEvent, CaseEvent.case_id), (Participant, Participant.case_id),
            (MessageRef, MessageRef.case_id), (ConversationRef, ConversationRef.case_id),
            (StandIn, StandIn.case_id), (AlertReply, AlertReply.alert_id),
            (AlertAction, AlertAction.alert_id), (CollectiveAlert, CollectiveAlert.case_id),
            (Inbound, Inbound.case_id), (Outbound, Outbound.case_id), (Case, Case.id),
        ]
        for table, column in hanging:
            session.execute(sa.delete(table).where(column.in_(chunk)))
