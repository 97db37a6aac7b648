"""Mail that reached the mailbox while the agent was stopped is judged by when it arrived.

The agent reads the shared mailbox on the real Dovecot; each message is delivered with the
arrival time it would have had (its INTERNALDATE), while no agent runs. Then the
long-running job starts at a later instant (a FixedClock) and must read the waiting mail
before it applies deadlines, replaying them in time: a Friday escalation read on Monday
counts from Friday; a reply that arrived on time is on time; one that arrived after its
stage timed out is late, as the running agent would have found.

Leicestershire's stage one: 5 working days to the team manager, escalating on timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from mailagent.runners.pipeline import judged_until
from mailagent.runners.sweep import sweep
from tests.clients import outlook_new, outlook_reply
from tests.desk import ESCALATION, IRO, Desk, Sent
from tests.running import daemon_running
from tests.support import imap_source, london

TM = "Tara Moss <tm1@example.test>"
SUBJECT = "[ESCALATE] Placement plan not started"


@pytest.fixture
def desk(mailboxes, tmp_path, monkeypatch) -> Iterator[Desk]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    desk = Desk(tmp_path, london(2026, 11, 2, 10),
                source={**imap_source(mailboxes), "poll_seconds": 60},
                deliver=lambda raw: pytest.fail("say when it arrives: use _arrives"))
    yield desk
    desk.close()


def _arrives(mailboxes, raw: bytes, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """Delivered to the shared mailbox at `at`, whether or not an agent is running."""
    mailboxes.deliver("agent", raw, at)


def _start_after_downtime(desk: Desk, at: datetime) -> None:
    """The long-running job starts at `at`, reads what waited, catches up, and idles."""
    desk.clock.set(at)
    with daemon_running(desk.agent):
        pass


def _opened_on_monday_2_november(desk: Desk, mailboxes) -> Sent:  # type: ignore[no-untyped-def]
    _arrives(mailboxes, outlook_new(IRO, SUBJECT, ESCALATION, at=london(2026, 11, 2, 10)),
             london(2026, 11, 2, 10))
    desk.run(london(2026, 11, 2, 10, 1))
    stage_1 = desk.one("escalation", desk.new())
    assert "by end of Monday 9 November 2026" in stage_1.text
    desk.run(london(2026, 11, 6, 9, 0))  # the reminder; then the agent is stopped
    assert [s.purpose for s in desk.new()] == ["reminder"]
    return stage_1


def test_a_friday_escalation_read_on_monday_counts_from_friday(desk: Desk, mailboxes) -> None:
    friday = london(2026, 12, 18, 10, 0)
    _arrives(mailboxes, outlook_new(IRO, SUBJECT, ESCALATION, at=friday), friday)
    _start_after_downtime(desk, london(2026, 12, 21, 10, 0))  # Monday
    case = desk.case()
    assert case.opened_at == friday
    stage_1 = desk.one("escalation", desk.new())
    # Five working days from Friday 18 December, past Christmas and Boxing Day (bank
    # holidays on 25 and 28 December): Tuesday 29th. From Monday it would be Wednesday 30th.
    assert "by end of Tuesday 29 December 2026" in stage_1.text
    assert case.stage_deadline == london(2026, 12, 30, 0, 0)
    # The email itself goes out, and is dated, when the agent read the escalation.
    assert stage_1.msg["Date"].datetime == london(2026, 12, 21, 10, 0)


def test_a_reply_that_arrived_on_time_while_the_agent_was_down_is_on_time(
    desk: Desk, mailboxes
) -> None:
    stage_1 = _opened_on_monday_2_november(desk, mailboxes)
    answered = london(2026, 11, 9, 15, 0)  # Monday 9th, the last day
    _arrives(mailboxes, outlook_reply(stage_1.row.raw, TM, "The placement search starts today.",
                                 at=answered), answered)
    _start_after_downtime(desk, london(2026, 11, 11, 10, 0))  # Wednesday 11th
    (response,) = desk.events("response")
    assert response.at == answered
    case = desk.case()
    assert (case.stage_id, case.stage_state) == ("stage_1", "awaiting_decision")
    purposes = [s.purpose for s in desk.new()]
    assert "response_received" in purposes  # the IRO is asked to decide
    assert "escalation" not in purposes and "escalated_notice" not in purposes
    assert desk.events("stage_timeout") == [] and desk.events("escalated") == []


def test_a_reply_that_arrived_after_the_deadline_while_the_agent_was_down_is_late(
    desk: Desk, mailboxes
) -> None:
    stage_1 = _opened_on_monday_2_november(desk, mailboxes)
    late = london(2026, 11, 10, 11, 0)  # Tuesday 10th: stage one ended with Monday
    _arrives(mailboxes, outlook_reply(stage_1.row.raw, TM, "Sorry for the delay: it starts today.",
                                 at=late), late)
    _start_after_downtime(desk, london(2026, 11, 11, 10, 0))
    case = desk.case()
    assert case.stage_id == "stage_2"  # escalated when stage one timed out, before the reply
    stage_2 = desk.last("escalation")
    assert stage_2.to == ["sm1@example.test"]
    assert desk.events("response") == []  # the team manager no longer answers the stage
    (reply,) = [e for e in desk.events("reply") if e.actor == "tm1@example.test"]
    assert reply.at == late


def test_no_deadline_is_judged_past_the_last_time_the_mailbox_was_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The mailbox cannot be read (an outage): the scheduler's sweep must not time out a
    # stage whose answer may be waiting there, unread.
    desk = Desk(tmp_path, london(2026, 11, 2, 10))
    try:
        desk.receive(outlook_new(IRO, SUBJECT, ESCALATION, at=london(2026, 11, 2, 10)))
        desk.run(london(2026, 11, 2, 10, 1))
        desk.clock.set(london(2026, 11, 11, 10, 0))  # the deadline (end of 9th) has passed
        assert judged_until(desk.agent) == london(2026, 11, 2, 10, 1)  # last read through
        assert sweep(desk.agent, judged_until(desk.agent)) == []
        assert desk.case().stage_id == "stage_1"
        desk.run()  # the mailbox is read again: now the deadline is judged
        assert desk.case().stage_id == "stage_2"
    finally:
        desk.close()
