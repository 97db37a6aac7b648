"""Delivering the outbox: each queued email is handed to the transport once its time has
come, retried while the server may come back, and given up only after the queue's lifetime.

* A row is marked `sending` (its attempt counted) before the transport is called, and
  `sent` once the server has accepted it. A row found `sending` after a crash is sent again,
  so delivery is at least once. The one window where that repeats an email is the SMTP
  hand-off: the server accepted the message and the process died before the row was marked
  sent (milliseconds per email). The recipient then gets the same email, with the same
  Message-ID, twice; the crash suite counts these.
* When the server itself cannot be used (unreachable, refusing the connection, our login or
  our sender address) the whole queue waits for the next try, which backs off from a minute,
  doubling, to an hour; when the server is back the queue goes out in the order it was
  queued. When the server works but puts off one email (a 4xx to its recipients or content)
  that email alone waits; a second such answer in the same pass is taken as the server's.
* Nothing is given up while the server may come back: an email is given up only when it has
  waited longer than the queue's lifetime (days, as mail servers do: Postfix gives up after
  5 days) and the server still will not take it, or when the server refuses it for good
  (a 5xx to its recipients or content). Who was given up on, and when, is kept on the row.
* A case's emails keep their order: one does not overtake an earlier one being retried
  to the same person.
* An operator lists the queue, has it tried now, or requeues what was given up
  (`mailagent outbox`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailagent.clock import Clock
from mailagent.store.models import CaseEvent, Outbound
from mailagent.store.outbox import Sender
from mailagent.transports.base import PermanentFailure, TemporaryFailure, Transport
from mailagent.transports.smtp import PartialDelivery

log = logging.getLogger(__name__)

UNSENT = ("queued", "sending")


@dataclass(frozen=True)
class RetryPolicy:
    """How long an email is kept trying, and how the tries are spaced."""

    lifetime: timedelta = timedelta(days=5)
    first_wait: timedelta = timedelta(minutes=1)
    longest_wait: timedelta = timedelta(hours=1)

    def wait(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try: doubling, up to the longest."""
        doublings = min(max(attempts - 1, 0), 40)  # past the longest wait long before 40
        return min(self.first_wait * 2**doublings, self.longest_wait)


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery pass did, as counts. `held_until`: the server could not be used,
    and the queue waits for it until then."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held_until: datetime | None = None

    @property
    def server_answered(self) -> bool:
        """The server took our connection this pass (it accepted or put off an email)."""
        return self.held_until is None and (self.sent + self.retrying) > 0


def deliver_due(
    engine: sa.Engine, transport: Transport, clock: Clock, sender: Sender,
    policy: RetryPolicy = RetryPolicy(), stopping: threading.Event | None = None,
) -> DeliveryReport:
    """Send every queued email whose time has come, oldest first; record each outcome.
    A stop request (`stopping`) ends the pass between two emails."""
    sent = retrying = failed = 0
    put_off = False  # the last email tried in this pass was put off by a working server
    for row_id in _due_ids(engine, clock.now()):
        if stopping is not None and stopping.is_set():
            break
        row = _claim(engine, row_id)
        if row is None:
            continue
        try:
            transport.send(sender.address, list(row.recipients), row.raw, row.message_id)
        except PartialDelivery as exc:
            _partly_sent(engine, row_id, exc, clock.now(), policy)
            sent, put_off = sent + 1, False
        except PermanentFailure as exc:
            _give_up(engine, row_id, list(row.recipients), str(exc), clock.now())
            failed += 1
        except TemporaryFailure as exc:
            now = clock.now()
            if now - row.queued_since >= policy.lifetime:
                reason = f"not accepted within {_span(policy.lifetime)}: {exc}"
                _give_up(engine, row_id, list(row.recipients), reason, now)
                failed += 1
                continue
            retry_at = now + policy.wait(row.attempts)
            if exc.this_message and not put_off:
                _retry_later(engine, row_id, str(exc), retry_at)
                retrying, put_off = retrying + 1, True
                continue
            waiting = _hold_queue(engine, row_id, str(exc), retry_at)
            log.warning("the mail server cannot be used (%s); %s email(s) wait, next try at %s",
                        exc, waiting, retry_at.isoformat(timespec="seconds"),
                        extra={"outbound_id": row_id})
            return DeliveryReport(sent, retrying + 1, failed, held_until=retry_at)
        else:
            _mark_sent(engine, row_id, clock.now())
            sent, put_off = sent + 1, False
    return DeliveryReport(sent, retrying, failed)


def _due_ids(engine: sa.Engine, now: datetime) -> list[int]:
    # A row still `sending` was interrupted by a crash: it was never confirmed, so it is due.
    with Session(engine) as session:
        query = (
            select(Outbound.id)
            .where(col(Outbound.status).in_(UNSENT), Outbound.not_before <= now)
            .order_by(col(Outbound.id))
        )
        return [row_id for row_id in session.exec(query) if row_id is not None]


def _claim(engine: sa.Engine, row_id: int) -> Outbound | None:
    """Mark the row `sending` and count the attempt; None if it is not ours to send now:
    already sent, or behind an earlier email of its case that is being retried."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Outbound, row_id)
        if row is None or row.status not in UNSENT:
            return None
        if row.case_id is not None and _behind_a_retry(session, row):
            return None
        row.status = "sending"
        row.attempts += 1
        session.add(row)
        session.commit()
        return row


def _behind_a_retry(session: Session, row: Outbound) -> bool:
    """An earlier email of the same case, to one of the same people, is being retried:
    this one must not reach them first (the thread would read out of order)."""
    earlier = session.exec(
        select(Outbound.recipients).where(
            Outbound.case_id == row.case_id, col(Outbound.id) < row.id,
            col(Outbound.status).in_(UNSENT), Outbound.attempts > 0,
        )
    )
    people = set(row.recipients)
    return any(people & set(recipients) for recipients in earlier)


def _update(engine: sa.Engine, row_id: int, **values: object) -> None:
    with Session(engine) as session:
        row = session.get(Outbound, row_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.commit()


def _mark_sent(engine: sa.Engine, row_id: int, at: datetime) -> None:
    _update(engine, row_id, status="sent", sent_at=at, last_error=None)
    log.info("outbox row %s: sent", row_id, extra={"outbound_id": row_id})


def _retry_later(engine: sa.Engine, row_id: int, error: str, when: datetime) -> None:
    _update(engine, row_id, status="queued", last_error=error, not_before=when)
    log.info("outbox row %s: put off by the server; will retry", row_id,
             extra={"outbound_id": row_id})


def _give_up(
    engine: sa.Engine, row_id: int, recipients: list[str], reason: str, at: datetime
) -> None:
    _update(engine, row_id, status="failed", last_error=reason, refused=recipients,
            refused_at=at)
    log.warning("outbox row %s: given up: not delivered to %s recipient(s)", row_id,
                len(recipients), extra={"outbound_id": row_id})


def _partly_sent(
    engine: sa.Engine, row_id: int, exc: PartialDelivery, at: datetime, policy: RetryPolicy
) -> None:
    """Out to some: those refused for good are given up on; those put off (4xx) wait."""
    with Session(engine) as session:
        row = session.get(Outbound, row_id)
        assert row is not None
        refused = list(exc.refused)
        deferred = list(exc.deferred)
        if deferred and at - row.queued_since >= policy.lifetime:
            refused, deferred = refused + deferred, []
        if refused:
            row.refused, row.refused_at = [*row.refused, *refused], at
        if deferred:
            row.status, row.recipients = "queued", deferred
            row.not_before = at + policy.wait(row.attempts)
        else:
            row.status, row.sent_at = "sent", at
        row.last_error = str(exc)
        session.add(row)
        session.commit()
    log.warning("outbox row %s: accepted for some recipients only", row_id,
                extra={"outbound_id": row_id})


def _hold_queue(engine: sa.Engine, row_id: int, error: str, until: datetime) -> int:
    """The server cannot be used: this row and every other waiting email wait until `until`
    (none earlier), so that they go out in their order when it is back. Returns how many."""
    with Session(engine) as session:
        session.execute(
            sa.update(Outbound).where(col(Outbound.id) == row_id)
            .values(status="queued", last_error=error, not_before=until)
        )
        session.execute(
            sa.update(Outbound)
            .where(col(Outbound.status).in_(UNSENT), col(Outbound.not_before) < until)
            .values(not_before=until)
        )
        waiting = session.exec(
            select(sa.func.count()).select_from(Outbound)
            .where(col(Outbound.status).in_(UNSENT))
        ).one()
        session.commit()
    return int(waiting)


def _span(delta: timedelta) -> str:
    days = delta / timedelta(days=1)
    if days >= 1:
        return f"{days:g} day{'s' if days != 1 else ''}"
    return f"{delta / timedelta(hours=1):g} hours"


# -- what an operator does with the queue (`mailagent outbox`) ------------------------------


def unsent(session: Session, *, everything: bool = False) -> list[Outbound]:
    """Emails not (wholly) delivered: waiting, being sent, or given up on; oldest first.
    With `everything`, the sent ones too."""
    query = select(Outbound).order_by(col(Outbound.id))
    if not everything:
        query = query.where(
            col(Outbound.status).in_((*UNSENT, "failed")) | col(Outbound.refused_at).is_not(None)
        )
    return list(session.exec(query))


def retry_now(engine: sa.Engine, ids: Sequence[int] | None, now: datetime) -> int:
    """Make waiting emails due now (all, or those in `ids`): the next delivery tries them,
    whatever their backoff. Returns how many."""
    with Session(engine) as session:
        query = (sa.update(Outbound).where(col(Outbound.status).in_(UNSENT))
                 .values(not_before=now))
        if ids is not None:
            query = query.where(col(Outbound.id).in_(ids))
        count = session.execute(query).rowcount
        session.commit()
    return int(count or 0)


def requeue(engine: sa.Engine, ids: Sequence[int] | None, now: datetime) -> int:
    """Queue again what was given up on (all, or the rows in `ids`), for the recipients who
    did not get it, with a new lifetime; the case's record says so. Returns how many."""
    with Session(engine, expire_on_commit=False) as session:
        query = select(Outbound).where(col(Outbound.refused_at).is_not(None))
        if ids is not None:
            query = query.where(col(Outbound.id).in_(ids))
        rows = list(session.exec(query))
        for row in rows:
            row.recipients, row.refused, row.refused_at = list(row.refused), [], None
            row.status, row.not_before, row.requeued_at, row.attempts = "queued", now, now, 0
            session.add(row)
            if row.case_id is not None:
                session.add(CaseEvent(
                    case_id=row.case_id, at=now, kind="requeued", outbound_id=row.id,
                    detail={"summary": "An email not delivered was queued again by the "
                            "operator"}))
        session.commit()
    for row in rows:
        log.info("outbox row %s: requeued", row.id, extra={"outbound_id": row.id})
    return len(rows)
