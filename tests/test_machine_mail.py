"""Mail no person wrote, about a case, through the real pipeline (Maildir in, SQLite,
files out): never answered, never a stage's response; each kind does what it is for.

An escalation opened on Monday 2 November 2026 goes to Tara Moss (team manager) for stage
one; her deputy in the example directory is Sean Mills.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.clients import (
    exchange_out_of_office,
    list_post,
    outlook_new,
    plain_autoreply,
    read_receipt,
    tmda_confirmation,
)
from tests.desk import ESCALATION, IRO, Desk, Sent
from tests.support import london

TM = "Tara Moss <tm1@example.test>"
OPENED = london(2026, 11, 2, 10)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk(tmp_path, OPENED)
    yield desk
    desk.close()


def open_case(desk: Desk) -> Sent:
    desk.receive(outlook_new(IRO, "[ESCALATE] Placement plan not started", ESCALATION,
                             at=OPENED))
    desk.run(OPENED + timedelta(minutes=5))
    return desk.one("escalation", desk.new())


def test_a_challenge_response_request_tells_the_iro_once_and_is_never_answered(
    desk: Desk,
) -> None:
    escalation = open_case(desk)
    desk.receive(tmda_confirmation(escalation.row.raw, TM, at=london(2026, 11, 2, 10, 6)))
    report = desk.run(london(2026, 11, 2, 10, 10))
    assert report.outcomes[-1].case_ref == "ESC-2026-0001"
    (told,) = desk.new()
    assert (told.purpose, told.to, told.cc) == ("confirmation_request", ["iro1@example.test"],
                                                [])
    assert told.subject == ("[ESC-2026-0001] Tara Moss has not received our email: their "
                            "spam filter is holding it")
    assert "Until someone answers it, Tara Moss will not see our email." in told.text
    assert "mailagent never answers these requests" in told.text
    assert "add agent@example.test to their safe senders" in told.text
    assert told.msg["Auto-Submitted"] == "auto-generated"
    # The request is on the case's record; it is not Tara's response.
    assert [e.actor for e in desk.events("confirmation_request")] == ["tm1@example.test"]
    assert desk.events("response") == []
    assert desk.case().stage_state == "awaiting_response"
    # Her filter asks again for the reminder: the IRO already knows, nothing is sent.
    desk.receive(tmda_confirmation(escalation.row.raw, TM, at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    assert desk.new() == []
    assert len(desk.events("confirmation_request")) == 2


def test_list_mail_from_the_addressee_is_not_a_response_and_brings_in_no_deputy(
    desk: Desk,
) -> None:
    escalation = open_case(desk)
    desk.receive(list_post(escalation.row.raw, TM, "Forwarding to the managers' list.",
                           at=london(2026, 11, 2, 11)))
    desk.run(london(2026, 11, 2, 11, 5))
    assert desk.new() == []
    assert desk.events("response") == [] and desk.events("autoreply") == []


def test_an_out_of_office_known_only_by_its_text_brings_in_the_deputy(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(plain_autoreply(
        escalation.row.raw, TM, "Thank you for your email. I am on annual leave until "
        "16 November. For urgent matters please contact Sean Mills.",
        at=london(2026, 11, 2, 10, 6)))
    desk.run(london(2026, 11, 2, 10, 10))
    rows = desk.new()
    assert desk.one("escalation", rows).to == ["sm1@example.test"]
    assert desk.one("deputy_notice", rows).to == ["iro1@example.test"]
    assert desk.events("response") == []


def test_a_read_receipt_is_noted_and_nothing_more(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(read_receipt(escalation.row.raw, TM, at=london(2026, 11, 2, 10, 30)))
    desk.run(london(2026, 11, 2, 10, 35))
    assert desk.new() == []
    (event,) = desk.events("read_receipt")
    assert event.detail["summary"] == "Read receipt from Tara Moss"
    assert desk.events("response") == [] and desk.events("autoreply") == []


def test_an_exchange_out_of_office_still_brings_in_the_deputy(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(exchange_out_of_office(escalation.row.raw, TM, "I am on leave.",
                                        at=london(2026, 11, 2, 10, 6)))
    desk.run(london(2026, 11, 2, 10, 10))
    assert desk.one("escalation", desk.new()).to == ["sm1@example.test"]
