"""One pass of the agent: source -> record -> parse -> classify -> match -> act -> outbox.

Every entry point (the long-running job, `run --once`, the demo, tests) meets here. Each
message is recorded, acted on (cases, events, queued emails) and marked handled in one
transaction; only once that has committed is the message filed out of the inbox. A crash
at any point therefore leaves the message handled completely, or not at all and still
waiting in the inbox, and a message seen again is only filed.

A message that cannot be processed is kept, its reason recorded, and moved to quarantine;
it never stops the loop. A user's mistake is answered by the handlers; a fault in our code
is logged (without personal data) and the message quarantined for a person. A database
outage is neither: the message stays in the inbox, the pass stops, and the caller waits
for the database to come back.

A pass streams: it keeps counts, never the messages or their outcomes, so its memory does
not grow with the backlog. A caller that wants each outcome (the demo, tests) listens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from mailagent.app import Agent
from mailagent.cases import undelivered
from mailagent.cases.dispatch import handle_message, handle_over_limit
from mailagent.cases.outcome import Outcome
from mailagent.logs import log_context, message_id_of
from mailagent.mail.classify import classify
from mailagent.mail.limits import envelope, over_limit
from mailagent.mail.parse import parse_message
from mailagent.runners.sweep import sweep
from mailagent.sources.base import FetchedMessage
from mailagent.store import inbound
from mailagent.store.db import is_outage, transaction
from mailagent.store.delivery import DeliveryReport, RetryPolicy, deliver_due

log = logging.getLogger(__name__)

OutcomeListener = Callable[[Outcome], object]

# How often the long-running job applies deadlines; mail read late is replayed in steps as
# fine as this, so it is judged as the running agent would have judged it.
SWEEP_INTERVAL = timedelta(minutes=5)


@dataclass
class PassReport:
    """What one pass did, as counts."""

    fetched: int = 0
    processed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def run_once(agent: Agent, *, on_outcome: OutcomeListener | None = None) -> PassReport:
    """Read the mailbox, apply due deadlines, and send what is queued."""
    report = PassReport()
    process_mailbox(agent, report, on_outcome=on_outcome)
    sweep(agent, judged_until(agent))
    report.delivery = deliver(agent)
    return report


def judged_until(agent: Agent) -> datetime:
    """How far deadlines may be applied: now, but never past the moment the mailbox was last
    read through. A reply waiting unread (the agent was down, or the mailbox unreachable)
    is read before the deadline it answers is judged, so an on-time reply counts as one."""
    now = agent.clock.now()
    read = inbound.read_through(agent.engine, agent.source.name)
    return now if read is None else min(now, read)


def deliver(agent: Agent) -> DeliveryReport:
    """Send what is due, then tell each IRO (once) of their cases' emails not getting
    through."""
    box = agent.settings.outbox
    policy = RetryPolicy(
        lifetime=timedelta(days=box.give_up_after_days),
        first_wait=timedelta(seconds=box.backoff_seconds),
        longest_wait=timedelta(seconds=box.backoff_max_seconds),
    )
    report = deliver_due(agent.engine, agent.transport, agent.clock, agent.sender, policy,
                         stopping=agent.stopping)
    tell_iros(agent, late_too=report.server_answered)
    return report


def tell_iros(agent: Agent, *, late_too: bool) -> None:
    """Each case's IRO, told in one notice of the emails given up on (and, when the mail
    server is answering, those late); one case's trouble never stops the others'."""
    now = agent.clock.now()
    warn_after = timedelta(hours=agent.settings.outbox.warn_after_hours)
    with Session(agent.engine) as session:
        case_ids = undelivered.cases_to_tell(session, now, warn_after, late_too=late_too)
    for case_id in case_ids:
        try:
            with transaction(agent.engine) as session:
                undelivered.tell_iro(session, agent, case_id, now, warn_after,
                                     late_too=late_too)
        except Exception as exc:
            if is_outage(exc):
                raise
            log.exception("could not tell the IRO of undelivered email",
                          extra={"case_id": case_id})


def process_mailbox(
    agent: Agent, report: PassReport, *, on_outcome: OutcomeListener | None = None
) -> None:
    """Handle every message waiting in the inbox, oldest first.

    Mail that waited (the agent was down, the mailbox unreachable) is replayed in time:
    before a message that arrived well after the deadlines were last judged, what fell due
    by its arrival is applied, so it meets its case as it stood when it arrived. An answer
    that arrived in time is in time; one that arrived after its stage timed out is late.
    """
    started = agent.clock.now()
    judged = judged_until(agent)
    uidvalidity = None
    for fetched in agent.source.fetch_new():
        if agent.stopping.is_set():
            return  # the rest wait in the inbox; the mailbox was not read through
        uidvalidity = fetched.uidvalidity
        report.fetched += 1
        arrived = inbound.arrival_time(fetched, started)
        if arrived - judged > SWEEP_INTERVAL:
            sweep(agent, arrived)
            judged = arrived
        # Every line logged while handling this message carries its Message-ID.
        with log_context(message_id=message_id_of(fetched.raw), source=agent.source.name):
            handle_fetched(agent, fetched, report, on_outcome)
    inbound.note_source_seen(agent.engine, agent.source.name, started, uidvalidity)


def handle_fetched(
    agent: Agent, fetched: FetchedMessage, report: PassReport,
    on_outcome: OutcomeListener | None = None,
) -> None:
    """Handle one message (committed), then file it out of the inbox."""
    status, seen_before = _handle_once(agent, fetched, on_outcome)
    if seen_before:
        report.duplicates += 1
    if status == "quarantined":
        report.quarantined += 1
        agent.source.quarantine(fetched.uid)
    else:
        report.processed += 1
        agent.source.mark_processed(fetched.uid)


def _handle_once(
    agent: Agent, fetched: FetchedMessage, on_outcome: OutcomeListener | None
) -> tuple[str, bool]:
    """Record, act and mark in one transaction; (status, whether it was handled before)."""
    now = agent.clock.now()
    received = inbound.arrival_time(fetched, now)
    try:
        with transaction(agent.engine) as session:
            row = inbound.record(session, agent.source.name, fetched, received)
            if row.status in inbound.DONE:
                # Seen before (a re-sync, a crash before filing): file it again, act on nothing.
                return row.status, True
            assert row.id is not None
            outcome = _act(session, agent, row.id, fetched.raw, received)
            inbound.finish(session, row, outcome.status, now, outcome.reason)
    except Exception as exc:
        if is_outage(exc):
            raise  # not the message's fault: it stays in the inbox for the next pass
        # A fault in our code: nothing it did was kept; keep the message for a person.
        log.exception("the message could not be processed")
        outcome = Outcome("quarantined", f"internal error: {type(exc).__name__}")
        with transaction(agent.engine) as session:
            row = inbound.record(session, agent.source.name, fetched, received)
            if row.status in inbound.DONE:  # recorded meanwhile by another reader
                return row.status, True
            inbound.finish(session, row, outcome.status, now, outcome.reason)
    log.info("inbound %s: %s", row.id, outcome.summary or outcome.status,
             extra={"inbound_id": row.id, "case_ref": outcome.case_ref})
    if on_outcome is not None:
        on_outcome(outcome)
    return outcome.status, False


def _act(
    session: Session, agent: Agent, inbound_id: int, raw: bytes, received: datetime
) -> Outcome:
    """Understand one message and act on it, in the caller's transaction; mail over a limit
    is quarantined before anything parses more than its sender's header fields."""
    too_much = over_limit(raw, agent.settings.limits)
    if too_much is not None:
        sender = parse_message(envelope(raw))
        return handle_over_limit(session, agent, inbound_id, sender, too_much, received)
    message = parse_message(raw)
    classification = classify(message, agent.vocabulary)
    return handle_message(session, agent, inbound_id, message, classification, received)
