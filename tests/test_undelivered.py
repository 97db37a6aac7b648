"""An email about a case that will never arrive is the IRO's to know (template delivery_failed).

The transport here is a stand-in that refuses one address the way an SMTP server does (a
5xx for every recipient, or for some of them); the real SMTP server's refusals are covered
in test_outbox.py.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from sqlmodel import Session, select

from mailagent.runners.pipeline import deliver, run_once
from mailagent.store.models import CaseEvent, Outbound
from mailagent.transports.base import PermanentFailure, TemporaryFailure
from mailagent.transports.smtp import PartialDelivery
from tests.support import ESCALATION_BODY, drop, email_bytes, london, make_agent

REFUSED = "tm1@example.test"  # the team manager the escalation goes to


class Refusing:
    """Accepts everything except mail to REFUSED: refused outright, or as a partial delivery."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sent: list[bytes] = []

    def send(self, sender: str, recipients: list[str], raw: bytes, message_id: str) -> None:
        if REFUSED in recipients:
            if self.mode == "all":
                raise PermanentFailure(f"all recipients refused: {REFUSED} (550 5.1.1 "
                                       "Recipient address rejected: User unknown)")
            if self.mode == "some":
                self.sent.append(raw)
                raise PartialDelivery({REFUSED: (550, b"5.1.1 User unknown")})
            raise TemporaryFailure("451 4.3.0 try again later")
        self.sent.append(raw)

    def close(self) -> None:
        return None


def _escalate(tmp_path: Path, mode: str, **outbox: object):
    transport = Refusing(mode)
    agent, clock = make_agent(tmp_path, london(2026, 12, 18, 10), transport=transport,
                              outbox=outbox or {})
    drop(agent, "escalation.eml", email_bytes(
        sender="Irene Reed <iro1@example.test>", subject="[ESCALATE] Placement plan not started",
        body=ESCALATION_BODY))
    return agent, clock, transport


def _notices(transport: Refusing) -> list:
    messages = [message_from_bytes(raw, policy=policy.default) for raw in transport.sent]
    return [m for m in messages if "Not delivered to" in str(m["Subject"])]


def test_a_refused_case_email_tells_the_iro_once(tmp_path) -> None:
    agent, _, transport = _escalate(tmp_path, "all")
    try:
        run_once(agent)  # the refusal queues the notice...
        deliver(agent)  # ...which goes out with the next delivery
        deliver(agent)
        (notice,) = _notices(transport)
        assert notice["To"] == "Irene Reed <iro1@example.test>"
        assert str(notice["Subject"]).startswith("[ESC-2026-0001] Not delivered to Tara Moss")
        text = notice.get_body(("plain",)).get_content()
        assert "550 5.1.1" in text and "will not be sent again" in text
        with Session(agent.engine) as session:
            failed = session.exec(select(Outbound).where(Outbound.status == "failed")).all()
            assert len(failed) == 1 and REFUSED in failed[0].recipients
            kinds = [e.kind for e in session.exec(select(CaseEvent))]
        assert kinds.count("delivery_failed") == 1
    finally:
        agent.close()


def test_a_partial_delivery_names_only_who_missed_it(tmp_path) -> None:
    agent, _, transport = _escalate(tmp_path, "some")
    try:
        run_once(agent)
        deliver(agent)
        (notice,) = _notices(transport)
        subject = str(notice["Subject"])
        assert "Tara Moss" in subject  # tm1, refused
        assert "Irene Reed" not in subject  # copied on the same email, and got it
        with Session(agent.engine) as session:
            statuses = {row.purpose: row.status for row in session.exec(select(Outbound))}
        assert statuses["delivery_failed"] == "sent"
    finally:
        agent.close()


def test_retries_given_up_tell_the_iro_too(tmp_path) -> None:
    agent, _, transport = _escalate(tmp_path, "temporary", max_attempts=1)
    try:
        run_once(agent)
        deliver(agent)
        (notice,) = _notices(transport)
        assert "gave up after 1 attempts" in notice.get_body(("plain",)).get_content()
    finally:
        agent.close()
