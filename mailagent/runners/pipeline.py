"""One pass of the agent: source -> record -> parse -> classify -> match -> act -> outbox.

Every entry point (the long-running job, `run --once`, the demo, tests) meets here. A
message that cannot be processed is kept, its reason recorded, and moved to quarantine;
it never stops the loop. A user's mistake is answered by the handlers; a system error is
logged (without personal data) and quarantined for a person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session

from mailagent.app import Agent
from mailagent.cases import undelivered
from mailagent.cases.dispatch import handle_message
from mailagent.cases.outcome import Outcome
from mailagent.logs import log_context, message_id_of
from mailagent.mail.classify import classify
from mailagent.mail.parse import parse_message
from mailagent.runners.sweep import sweep
from mailagent.sources.base import FetchedMessage
from mailagent.store import inbound
from mailagent.store.db import transaction
from mailagent.store.models import Inbound
from mailagent.store.outbox import DeliveryReport, Undelivered, deliver_due

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    fetched: int = 0
    processed: int = 0
    quarantined: int = 0
    duplicates: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def run_once(agent: Agent) -> PassReport:
    """Read the mailbox, apply due deadlines, and send what is queued."""
    report = PassReport()
    process_mailbox(agent, report)
    sweep(agent, agent.clock.now())
    report.delivery = deliver(agent)
    return report


def deliver(agent: Agent) -> DeliveryReport:
    box = agent.settings.outbox
    return deliver_due(
        agent.engine, agent.transport, agent.clock, agent.sender,
        max_attempts=box.max_attempts, backoff_seconds=box.backoff_seconds,
        backoff_max_seconds=box.backoff_max_seconds,
        on_undelivered=lambda failure: _tell_iro(agent, failure),
    )


def _tell_iro(agent: Agent, failure: Undelivered) -> None:
    with transaction(agent.engine) as session:
        undelivered.tell_iro(session, agent, failure)


def process_mailbox(agent: Agent, report: PassReport) -> None:
    uidvalidity = None
    for fetched in agent.source.fetch_new():
        if agent.stopping.is_set():
            break
        uidvalidity = fetched.uidvalidity
        report.fetched += 1
        handle_fetched(agent, fetched, report)
    inbound.note_source_seen(agent.engine, agent.source.name, agent.clock.now(), uidvalidity)


def handle_fetched(agent: Agent, fetched: FetchedMessage, report: PassReport) -> None:
    # Every line logged while handling this message carries its Message-ID.
    with log_context(message_id=message_id_of(fetched.raw), source=agent.source.name):
        _handle_fetched(agent, fetched, report)


def _handle_fetched(agent: Agent, fetched: FetchedMessage, report: PassReport) -> None:
    recorded = inbound.record_fetched(agent.engine, agent.source.name, fetched, agent.clock.now())
    if recorded.done:
        # Seen before (a re-sync, a crash before filing): file it again, act on nothing.
        report.duplicates += 1
        status = recorded.status
    else:
        outcome = process_message(agent, recorded.inbound_id)
        report.outcomes.append(outcome)
        status = outcome.status
        inbound.mark(
            agent.engine, recorded.inbound_id, status, agent.clock.now(), outcome.reason
        )
    if status == "quarantined":
        report.quarantined += 1
        agent.source.quarantine(fetched.uid)
    else:
        report.processed += 1
        agent.source.mark_processed(fetched.uid)


def process_message(agent: Agent, inbound_id: int) -> Outcome:
    """Understand one stored message and act on it in a single transaction."""
    with Session(agent.engine) as session:
        row = session.get(Inbound, inbound_id)
        assert row is not None
        raw = row.raw
    try:
        message = parse_message(raw)
        classification = classify(message, agent.vocabulary)
        with transaction(agent.engine) as session:
            outcome = handle_message(session, agent, inbound_id, message, classification)
    except Exception as exc:  # a system error: keep the message for a person, carry on
        log.exception("inbound %s could not be processed", inbound_id)
        return Outcome("quarantined", f"internal error: {type(exc).__name__}")
    log.info(
        "inbound %s: %s", inbound_id, outcome.summary,
        extra={"inbound_id": inbound_id, "case_ref": outcome.case_ref},
    )
    return outcome
