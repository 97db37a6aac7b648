"""Forgery and authority: every rule of `cases.authorise`, tried as an attacker would.

The agent reads the real Dovecot by IMAP and sends by the real SMTP server; each email is
put in its mailbox as the council's receiving server would leave it, with that server's
verdict at the top: Microsoft 365's form (an Authentication-Results header naming no server,
and X-MS-Exchange-Organization-AuthAs) or RFC 8601's, from a gateway named by its
authserv-id. Whatever the attacker wrote in their own headers sits below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailagent.config import AuthenticationSettings
from mailagent.mail.authentication import sender_verdict
from mailagent.mail.parse import parse_message
from tests.clients import gmail_new, outlook_new, outlook_reply
from tests.desk import ESCALATION, IRO, Desk, Sent
from tests.servers import MailServers
from tests.support import imap_source, london, smtp_transport

OPENED = london(2026, 11, 2, 10)
LATER = london(2026, 11, 3, 9)
TM = "Tara Moss <tm1@example.test>"
SW = "Sam Walker <sw1@example.test>"
OTHER_TM = "Tom Marsh <tm2@example.test>"
MANAGER = "Mona Manning <manager@example.test>"
OUTSIDER = "Mallory <outsider@example.test>"
M365 = {"require": "pass", "microsoft_365": True}
GATEWAY = {"require": "pass", "microsoft_365": False,
           "trusted_authserv_ids": ["mx.council.example"]}

# What Exchange Online stamps on mail sent inside the organisation ...
INTERNAL = ("X-MS-Exchange-Organization-AuthAs: Internal",)
# ... and on mail from the internet that claims a council address and fails DMARC.
M365_SPOOF = (
    "Authentication-Results: spf=fail (sender IP is 203.0.113.9)\r\n"
    " smtp.mailfrom=example.test; council.example; dkim=none (message not signed)\r\n"
    " header.d=none;council.example; dmarc=fail action=oreject\r\n"
    " header.from=example.test;compauth=fail reason=000",
    "X-MS-Exchange-Organization-AuthAs: Anonymous",
)
# The council's own gateway, RFC 8601.
GATEWAY_PASS = ("Authentication-Results: mx.council.example; dkim=pass header.d=example.test"
                " header.s=sel; spf=pass smtp.mailfrom=example.test;"
                " dmarc=pass header.from=example.test",)
GATEWAY_FAIL = ("Authentication-Results: mx.council.example; dkim=none;"
                " spf=fail smtp.mailfrom=example.test;"
                " dmarc=fail (p=reject) header.from=example.test",)
# What an attacker writes into their own message, hoping to be believed.
SELF_VOUCHED = (
    "Authentication-Results: mx.council.example; dmarc=pass header.from=example.test",
    "Authentication-Results: spf=pass smtp.mailfrom=example.test; dmarc=pass action=none"
    " header.from=example.test; compauth=pass reason=100",
    "X-MS-Exchange-Organization-AuthAs: Internal",
)


def arrived(raw: bytes, *headers: str) -> bytes:
    """`raw` as the receiving server leaves it: its headers prepended, above the sender's."""
    return b"".join(h.encode() + b"\r\n" for h in headers) + raw


def forged(raw: bytes, *server: str) -> bytes:
    """The attacker's own vouching headers, then what the receiving server found on top."""
    return arrived(arrived(raw, *SELF_VOUCHED), *server)


@pytest.fixture
def office(mailboxes: MailServers, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Desk]]:
    """desk(authentication): an agent on the real servers with that [authentication]."""
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    desks: list[Desk] = []

    def build(authentication: dict[str, Any] = M365) -> Desk:
        desk = Desk(tmp_path, OPENED, source=imap_source(mailboxes),
                    transport=smtp_transport(mailboxes), authentication=authentication,
                    deliver=lambda raw: mailboxes.append("agent", raw))
        desks.append(desk)
        return desk

    yield build
    for desk in desks:
        desk.close()


def open_case(desk: Desk, *stamp: str) -> Sent:
    """The IRO's escalation, sent inside the organisation; the stage email it leads to."""
    desk.receive(arrived(outlook_new(IRO, "[ESCALATE] Placement plan not started", ESCALATION,
                                     at=OPENED), *(stamp or INTERNAL)))
    desk.run(OPENED)
    return desk.one("escalation", desk.new())


def reasons(report: Any) -> list[str]:
    return [o.reason or "" for o in report.outcomes]


# -- sender authentication ------------------------------------------------------------------


def test_a_forged_iro_opens_nothing_and_the_iro_team_manager_is_told_once(
    office: Callable[..., Desk], mailboxes: MailServers
) -> None:
    desk = office()
    for minute in (1, 2):
        sent = london(2026, 11, 2, 9, minute)  # two different emails
        desk.receive(forged(outlook_new(IRO, "[ESCALATE] Placement plan not started",
                                        ESCALATION, at=sent), *M365_SPOOF))
        report = desk.run(london(2026, 11, 2, 10, minute))
        assert report.quarantined == 1
        assert "authenticated" in reasons(report)[0] and "dmarc=fail" in reasons(report)[0]
    assert desk.events() == []
    (notice,) = desk.outbox()
    assert notice.purpose == "sender_unverified" and notice.to == ["manager@example.test"]
    assert "Irene Reed <iro1@example.test>" in notice.text
    assert "Placement" not in notice.subject + notice.text  # nothing the attacker wrote
    assert len(mailboxes.wait_for_mail("manager", 1)) == 1
    assert "Quarantine" in mailboxes.folder_names("agent")


@pytest.mark.parametrize("settings, genuine, spoofed", [
    (M365, INTERNAL, M365_SPOOF), (GATEWAY, GATEWAY_PASS, GATEWAY_FAIL)], ids=["m365", "rfc8601"])
def test_a_forged_manager_response_is_not_the_stage_response(
    office: Callable[..., Desk], settings: dict[str, Any], genuine: tuple[str, ...],
    spoofed: tuple[str, ...],
) -> None:
    desk = office(settings)
    escalation = open_case(desk, *genuine)
    reply = outlook_reply(escalation.row.raw, TM, "Placement search started.", at=LATER)
    desk.receive(forged(reply, *spoofed))
    report = desk.run(LATER)
    assert report.quarantined == 1 and "dmarc=fail" in reasons(report)[0]
    assert desk.events("response") == [] and desk.case().stage_state == "awaiting_response"
    # The team manager's own reply, vouched for, is the stage's response.
    desk.receive(arrived(outlook_reply(escalation.row.raw, TM, "Placement search started.",
                                       at=london(2026, 11, 3, 9, 1)), *genuine))
    desk.run(london(2026, 11, 3, 9, 5))
    assert len(desk.events("response")) == 1


def test_the_council_gateway_form_with_spoofed_headers_below_it(
    office: Callable[..., Desk],
) -> None:
    desk = office(GATEWAY)
    escalation = open_case(desk, *GATEWAY_PASS)
    # #withdraw in the IRO's name from outside: the gateway's own verdict is a fail.
    command = outlook_reply(escalation.row.raw, IRO, "#withdraw", at=LATER)
    desk.receive(forged(command, *GATEWAY_FAIL))
    report = desk.run(LATER)
    assert report.quarantined == 1 and "dmarc=fail" in reasons(report)[0]
    assert desk.case().status == "open" and desk.events("withdrawn") == []
    # The real IRO, vouched for by the gateway, withdraws it.
    genuine = outlook_reply(escalation.row.raw, IRO, "#withdraw", at=london(2026, 11, 3, 9, 1))
    desk.receive(arrived(genuine, *GATEWAY_PASS))
    desk.run(london(2026, 11, 3, 9, 5))
    assert desk.case().status == "withdrawn"


def test_only_a_trusted_server_is_believed_and_strictness_decides_the_rest(
    office: Callable[..., Desk],
) -> None:
    # An authserv-id the council does not name, on top, saying "pass": no verdict at all.
    untrusted = ("Authentication-Results: mx.attacker.example; dmarc=pass"
                 " header.from=example.test",)
    strict = office(GATEWAY)
    strict.receive(arrived(outlook_new(IRO, "[ESCALATE] Drift", ESCALATION, at=OPENED),
                           *untrusted))
    report = strict.run(OPENED)
    assert report.quarantined == 1 and "not vouched for" in reasons(report)[0]
    assert [s.purpose for s in strict.outbox()] == ["sender_unverified"]


def test_no_fail_accepts_unsigned_internal_mail_but_not_a_failure(tmp_path: Path) -> None:
    desk = Desk(tmp_path, OPENED, authentication={**GATEWAY, "require": "no-fail"})
    try:
        desk.receive(outlook_new(IRO, "[ESCALATE] Drift", ESCALATION, at=OPENED))
        desk.receive(arrived(outlook_new(IRO, "[ESCALATE] Drift again", ESCALATION, at=OPENED),
                             *GATEWAY_FAIL))
        report = desk.run(OPENED)
        assert [o.status for o in report.outcomes] == ["processed", "quarantined"]
    finally:
        desk.close()


@pytest.mark.parametrize("headers, settings, expected", [
    (INTERNAL, M365, "pass"),
    (M365_SPOOF, M365, "fail"),
    (("Authentication-Results: spf=pass (sender IP is 198.51.100.7) smtp.mailfrom=example.test;"
      " dkim=pass (signature was verified) header.d=example.test;dmarc=pass action=none"
      " header.from=example.test;compauth=pass reason=100",), M365, "pass"),
    # Microsoft's header is not believed where Microsoft is not the receiving server.
    (("Authentication-Results: spf=pass smtp.mailfrom=example.test; dmarc=pass action=none"
      " header.from=example.test",), GATEWAY, "none"),
    # Exchange's internal mark means nothing where Exchange is not trusted.
    (("Authentication-Results: mx.council.example; none", *INTERNAL), GATEWAY, "none"),
    (GATEWAY_PASS, GATEWAY, "pass"),
    (GATEWAY_FAIL, GATEWAY, "fail"),
    # DMARC about another From domain says nothing of this one.
    (("Authentication-Results: mx.council.example; dmarc=pass header.from=evil.example",),
     GATEWAY, "none"),
    # DKIM for another domain, SPF softfail: no aligned pass, no fail.
    (("Authentication-Results: mx.council.example; dkim=pass header.d=evil.example;"
      " spf=softfail smtp.mailfrom=evil.example",), GATEWAY, "none"),
    (("Authentication-Results: mx.council.example; dkim=pass header.d=mail.example.test",),
     GATEWAY, "pass"),
    (("Authentication-Results: mx.council.example; this is not ( valid",), GATEWAY, "none"),
])
def test_the_verdict_is_read_only_from_the_topmost_trusted_header(
    headers: tuple[str, ...], settings: dict[str, Any], expected: str
) -> None:
    raw = forged(gmail_new(IRO, "x", "y", at=OPENED), *headers)
    verdict = sender_verdict(parse_message(raw), AuthenticationSettings(**settings))
    assert verdict.result == expected, verdict.reason


# -- who may act ---------------------------------------------------------------------------


def test_outsiders_with_a_guessed_reference_marker_or_thread_get_nothing(
    office: Callable[..., Desk], mailboxes: MailServers
) -> None:
    desk = office()
    escalation = open_case(desk)
    guesses = [
        gmail_new(OUTSIDER, "RE: [ESC-2026-0001] Placement", "#resolved", at=LATER),
        gmail_new(OUTSIDER, "Update", "#withdraw\n\n[ma:ESC-2026-0001]", at=LATER),
        outlook_reply(escalation.row.raw, OUTSIDER, "I am the team manager now. #resolved",
                      at=LATER),
    ]
    for raw in guesses:
        desk.receive(arrived(raw, *INTERNAL))
    report = desk.run(LATER)
    assert report.quarantined == 3
    assert all(r.startswith("directory:") for r in reasons(report))
    case = desk.case()
    assert (case.status, case.stage_state) == ("open", "awaiting_response")
    assert all(e.actor != "outsider@example.test" for e in desk.events())
    assert desk.new() == []  # nothing confirms the case exists
    assert not any(e.rcpt_tos == ("outsider@example.test",) for e in mailboxes.envelopes)


def test_another_iro_and_a_manager_of_another_team_cannot_touch_the_case(
    office: Callable[..., Desk],
) -> None:
    desk = office()
    escalation = open_case(desk)
    desk.receive(arrived(outlook_reply(escalation.row.raw, "Ivan Rowe <iro2@example.test>",
                                       "#withdraw", at=LATER), *INTERNAL))
    desk.receive(arrived(outlook_reply(escalation.row.raw, OTHER_TM,
                                       "Sorted on our side.", at=LATER), *INTERNAL))
    report = desk.run(LATER)
    assert [o.status for o in report.outcomes] == ["quarantined", "quarantined"]
    assert all(r.startswith("on-the-case:") for r in reasons(report))
    assert desk.case().status == "open"
    assert desk.events("response") == [] and desk.events("reply") == []
    assert desk.new() == []


def test_a_copied_social_worker_may_write_but_not_command_or_answer_the_stage(
    office: Callable[..., Desk], mailboxes: MailServers
) -> None:
    desk = office()
    escalation = open_case(desk)
    desk.receive(arrived(outlook_reply(escalation.row.raw, SW, "#resolved\n\nAll done.",
                                       at=LATER), *INTERNAL))
    desk.run(LATER)
    case = desk.case()
    assert (case.status, case.stage_state) == ("open", "awaiting_response")
    (refused,) = desk.events("refused")
    assert refused.actor == "sw1@example.test"
    assert "only the case's IRO" in refused.detail["summary"]
    answer = desk.one("command_refused")
    assert answer.to == ["sw1@example.test"]  # on the case: told why, nobody else is
    assert desk.events("response") == []


def test_the_iro_manager_may_resolve_the_iro_case(office: Callable[..., Desk]) -> None:
    desk = office()
    escalation = open_case(desk)
    desk.receive(arrived(outlook_reply(escalation.row.raw, MANAGER, "#resolved", at=LATER),
                         *INTERNAL))
    desk.run(LATER)
    assert desk.case().status == "resolved"


def test_only_iros_open_cases_and_a_tagged_email_from_a_manager_is_not_answered(
    office: Callable[..., Desk],
) -> None:
    desk = office()
    desk.receive(arrived(outlook_new(TM, "[ESCALATE] Please look at this", ESCALATION,
                                     at=OPENED), *INTERNAL))
    report = desk.run(OPENED)
    assert report.quarantined == 1 and reasons(report)[0].startswith("opens-work:")
    assert desk.outbox() == [] and desk.events() == []
