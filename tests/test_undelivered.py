"""An email about a case that is not getting through is the IRO's to know, once per case
(templates delivery_failed and delivery_delayed).

The transport here is a stand-in that treats the team manager's address the way an SMTP
server may (a 5xx, a partial delivery, a 4xx for that mailbox, or no server at all); the
real SMTP server's answers are covered in test_outbox.py and test_faults.py.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlmodel import Session, select

from mailagent.runners.pipeline import deliver, run_once
from mailagent.runners.sweep import sweep
from mailagent.store.models import CaseEvent, Outbound
from mailagent.transports.base import PermanentFailure, TemporaryFailure
from mailagent.transports.smtp import PartialDelivery
from tests.support import ESCALATION_BODY, drop, email_bytes, london, make_agent

REFUSED = "tm1@example.test"  # the team manager the escalation goes to


class Refusing:
    """Accepts everything except mail to REFUSED, which it treats as `mode` says; with
    `mode = "down"` it takes nothing at all."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sent: list[bytes] = []

    def send(self, sender: str, recipients: list[str], raw: bytes, message_id: str) -> None:
        if self.mode == "down":
            raise TemporaryFailure("ConnectionRefusedError: [Errno 111] Connection refused")
        if REFUSED in recipients:
            if self.mode == "all":
                raise PermanentFailure(f"all recipients refused: {REFUSED} (550 5.1.1 "
                                       "Recipient address rejected: User unknown)")
            if self.mode == "some":
                self.sent.append(raw)
                raise PartialDelivery({REFUSED: (550, b"5.1.1 User unknown")})
            if self.mode == "late":  # the others get it; the full mailbox is put off
                if recipients == [REFUSED]:
                    raise TemporaryFailure(f"recipients refused: {REFUSED} (452 4.2.2 "
                                           "mailbox full)", this_message=True)
                self.sent.append(raw)
                raise PartialDelivery({REFUSED: (452, b"4.2.2 mailbox full")})
        self.sent.append(raw)

    def close(self) -> None:
        return None


def _escalate(tmp_path: Path, mode: str):  # type: ignore[no-untyped-def]
    transport = Refusing(mode)
    agent, clock = make_agent(tmp_path, london(2026, 12, 14, 10), transport=transport)
    drop(agent, "escalation.eml", email_bytes(
        sender="Irene Reed <iro1@example.test>", subject="[ESCALATE] Placement plan not started",
        body=ESCALATION_BODY))
    return agent, clock, transport


def _notices(transport: Refusing, words: str) -> list[EmailMessage]:
    messages = [message_from_bytes(raw, policy=policy.default) for raw in transport.sent]
    return [m for m in messages if words in str(m["Subject"])]  # type: ignore[misc]


def _events(agent, kind: str) -> list[CaseEvent]:  # type: ignore[no-untyped-def]
    with Session(agent.engine) as session:
        return list(session.exec(select(CaseEvent).where(CaseEvent.kind == kind)))


def test_a_refused_case_email_tells_the_iro_once(tmp_path) -> None:
    agent, _, transport = _escalate(tmp_path, "all")
    try:
        run_once(agent)  # the refusal queues the notice...
        deliver(agent)  # ...which goes out with the next delivery
        deliver(agent)
        (notice,) = _notices(transport, "Not delivered to")
        assert notice["To"] == "Irene Reed <iro1@example.test>"
        assert str(notice["Subject"]).startswith("[ESC-2026-0001] Not delivered to Tara Moss")
        text = notice.get_body(("plain",)).get_content()
        assert "550 5.1.1" in text and "will not be sent again" in text
        with Session(agent.engine) as session:
            failed = session.exec(select(Outbound).where(Outbound.status == "failed")).all()
            assert len(failed) == 1 and REFUSED in failed[0].recipients
        assert len(_events(agent, "delivery_failed")) == 1
    finally:
        agent.close()


def test_a_partial_delivery_names_only_who_missed_it(tmp_path) -> None:
    agent, _, transport = _escalate(tmp_path, "some")
    try:
        run_once(agent)
        deliver(agent)
        (notice,) = _notices(transport, "Not delivered to")
        subject = str(notice["Subject"])
        assert "Tara Moss" in subject  # tm1, refused
        assert "Irene Reed" not in subject  # copied on the same email, and got it
        with Session(agent.engine) as session:
            statuses = {row.purpose: row.status for row in session.exec(select(Outbound))}
        assert statuses["delivery_failed"] == "sent"
    finally:
        agent.close()


def test_several_emails_given_up_on_together_make_one_notice(tmp_path) -> None:
    # The mail server is down while the case opens and its reminder falls due, then comes
    # back refusing the team manager: both emails fail in one pass, and the IRO gets one
    # notice naming both, not one each.
    agent, clock, transport = _escalate(tmp_path, "down")
    try:
        run_once(agent)
        clock.set(london(2026, 12, 18, 9, 0))  # the reminder, a working day before
        sweep(agent, clock.now())
        transport.mode = "all"
        deliver(agent)
        deliver(agent)
        (notice,) = _notices(transport, "Not delivered to")
        text = notice.get_body(("plain",)).get_content()
        assert "2 of our emails about ESC-2026-0001" in text
        assert text.count("Reason:  all recipients refused") == 2
        assert len(_events(agent, "delivery_failed")) == 2  # the record names each email
    finally:
        agent.close()


def test_a_late_email_is_told_once_per_case_and_given_up_after_its_lifetime(tmp_path) -> None:
    agent, clock, transport = _escalate(tmp_path, "late")
    try:
        run_once(agent)  # the acknowledgment goes; the team manager's server puts it off
        for hours in (1, 3, 5, 8, 24, 48):
            clock.set(london(2026, 12, 14, 10) + timedelta(hours=hours))
            deliver(agent)
        (late,) = _notices(transport, "Delayed")
        assert str(late["Subject"]).startswith("[ESC-2026-0001] Delayed: not yet delivered to "
                                               "Tara Moss")
        text = late.get_body(("plain",)).get_content()
        assert "452 4.2.2 mailbox full" in text and "keeps trying for 5 days" in text
        assert _notices(transport, "Not delivered to") == []
        # Five days after it was queued it is given up, and the IRO told that too, once.
        for day in (5, 6):
            clock.set(london(2026, 12, 14, 10, 30) + timedelta(days=day))
            deliver(agent)
            deliver(agent)
        (failed,) = _notices(transport, "Not delivered to")
        assert "not accepted within 5 days" in failed.get_body(("plain",)).get_content()
        assert len(_notices(transport, "Delayed")) == 1
    finally:
        agent.close()


def test_no_late_notice_while_the_server_cannot_be_reached(tmp_path) -> None:
    # The notice could not go either; when the server is back, the email itself goes.
    agent, clock, transport = _escalate(tmp_path, "down")
    try:
        run_once(agent)
        for hours in (1, 5, 10, 30):
            clock.set(london(2026, 12, 14, 10) + timedelta(hours=hours))
            deliver(agent)
        transport.mode = "fine"
        clock.advance(timedelta(hours=1))
        deliver(agent)
        assert _notices(transport, "Delayed") == [] and _events(agent, "delivery_delayed") == []
        with Session(agent.engine) as session:
            assert {row.status for row in session.exec(select(Outbound))} == {"sent"}
    finally:
        agent.close()
