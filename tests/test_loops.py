"""No mail loops, on the real servers: an auto-responder that answers every email without
saying it is one gets a few answers and then silence; our own emails fed back change
nothing; machine mail never answers a stage and is never answered."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from tests.clients import gmail_new, list_post, parse, plain_autoreply
from tests.desk import ESCALATION, IRO, Desk, Sent
from tests.servers import MailServers
from tests.support import imap_source, london, smtp_transport

OPENED = london(2026, 11, 2, 10)
LATER = london(2026, 11, 3, 9)
TM = "Tara Moss <tm1@example.test>"
CAP = 3


@pytest.fixture
def desk(mailboxes: MailServers, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    desk = Desk(tmp_path, OPENED, source=imap_source(mailboxes),
                transport=smtp_transport(mailboxes),
                limits={"max_answers_per_sender_per_day": CAP},
                deliver=lambda raw: mailboxes.append("agent", raw))
    yield desk
    desk.close()


def auto_response(original: bytes, sender: str) -> bytes:
    """A hand-made auto-responder: no Auto-Submitted, no X-Autoreply, no Precedence, a
    subject and a body a person could have written; it answers whatever arrives."""
    orig = parse(original)
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, str(orig["From"])
    msg["Subject"] = f"Re: {orig['Subject']}"
    msg["Date"] = format_datetime(LATER)
    msg["Message-ID"] = make_msgid(domain="example.test")
    msg["In-Reply-To"] = msg["References"] = str(orig["Message-ID"])
    msg.set_content("Noted, thanks.")
    return msg.as_bytes()


def test_an_auto_responder_without_rfc_3834_headers_stops_after_the_cap(
    desk: Desk, mailboxes: MailServers
) -> None:
    desk.receive(gmail_new(IRO, "Quick question", "Can I send you the plan?", at=LATER))
    answered: set[bytes] = set()
    rounds_with_mail = 0
    for minute in range(15):
        desk.run(london(2026, 11, 3, 9, minute))
        arrived = [raw for raw in mailboxes.fetch_all("iro1") if raw not in answered]
        rounds_with_mail += bool(arrived)
        for raw in arrived:  # the IRO's mailbox answers everything we send it
            answered.add(raw)
            desk.receive(auto_response(raw, IRO))
    sent = [s.purpose for s in desk.outbox()]
    assert sent == ["help"] * CAP
    assert rounds_with_mail == CAP  # then the loop is over: nothing more to answer
    assert len(mailboxes.fetch_all("iro1")) == CAP


def open_case(desk: Desk) -> Sent:
    desk.receive(gmail_new(IRO, "[ESCALATE] Placement plan not started", ESCALATION,
                           at=OPENED))
    desk.run(OPENED)
    return desk.one("escalation", desk.new())


def _state(desk: Desk) -> tuple[object, ...]:
    case = desk.case()
    return (case.status, case.stage_id, case.stage_state, case.stage_deadline,
            len(desk.events()), len(desk.outbox()))


def test_our_own_emails_fed_back_change_nothing(desk: Desk, mailboxes: MailServers) -> None:
    escalation = open_case(desk)
    before = _state(desk)
    delivered = mailboxes.wait_for_mail("iro1", 2)  # the acknowledgment, and a copy of the stage
    stage_email = escalation.row.raw
    # As Exchange hands it back: a new Message-ID, ours kept aside.
    rewritten = stage_email.replace(
        b"Message-ID: ", b"X-Microsoft-Original-Message-ID: ", 1
    ).replace(b"\r\n\r\n", f"\r\nMessage-ID: {make_msgid()}\r\n\r\n".encode(), 1)
    for raw in (*delivered, rewritten):
        desk.receive(raw)
    report = desk.run(LATER)
    assert [o.summary for o in report.outcomes] == ["our own email, come back: ignored"] * 3
    assert _state(desk) == before


def test_mail_in_our_name_that_we_did_not_send_is_quarantined(desk: Desk) -> None:
    desk.receive(gmail_new("IRO Escalations <agent@example.test>", "[ESCALATE] x", ESCALATION,
                           at=LATER))
    report = desk.run(LATER)
    assert report.quarantined == 1 and report.outcomes[0].reason.startswith("own-mail:")
    assert desk.outbox() == []


def test_list_mail_from_the_addressee_is_not_the_stage_response(desk: Desk) -> None:
    escalation = open_case(desk)
    # Precedence: list says many were sent it; it says nothing of anyone being away.
    desk.receive(list_post(escalation.row.raw, TM, "Placement search started.", at=LATER))
    report = desk.run(LATER)
    assert report.processed == 1 and desk.new() == []
    desk.receive(plain_autoreply(escalation.row.raw, TM,
                                 "I am out of the office until Monday with no access to email.",
                                 at=LATER))
    report = desk.run(LATER)
    assert report.processed == 1
    assert desk.events("response") == [] and desk.events("reply") == []
    assert desk.case().stage_state == "awaiting_response"
    # Nobody is answered; the out-of-office brings the team manager's deputy in.
    sent = desk.new()
    assert "tm1@example.test" not in {a for s in sent for a in s.to}
    assert {s.purpose for s in sent} <= {"escalation", "deputy_notice"}
