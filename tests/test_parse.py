"""Raw bytes -> InboundMessage: headers, addresses, threading, text, attachments."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailagent.mail.html import html_to_text
from mailagent.mail.parse import (
    Attachment,
    message_id_list,
    normalise_message_id,
    parse_message,
    thread_conversation,
)

CORPUS = Path(__file__).resolve().parent / "corpus"
CONVERSATION = "01dc61c155f49181f3ddcf6f4fa6b9c88edd0fd5ddb0"  # the corpus's ESC-2026-0042 thread


def corpus(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def test_an_outlook_reply_is_read_fully() -> None:
    msg = parse_message(corpus("outlook-desktop-reply"))
    assert msg.message_id == (
        "<CWLP265MB3217A1B2C3D4E5F6A7B8C9D0E1F2A3B4@CWLP265MB3217.GBRP265.PROD.OUTLOOK.COM>"
    )
    ours = "<LO4P265MB6207E1A3C2B1F0D9A8E7A6B5C4D3E2F1@LO4P265MB6207.GBRP265.PROD.OUTLOOK.COM>"
    assert msg.in_reply_to == (ours,)
    assert msg.references == (ours,)
    assert msg.from_addr == "aisha.khan@northshire.example.test"
    assert msg.from_name == "عائشہ خان"
    assert msg.to == ("iro-escalations@northshire.example.test",)
    assert msg.cc == ("sian.llyr@northshire.example.test",)
    assert msg.date == datetime(2026, 12, 2, 10, 31, 17, tzinfo=UTC)
    assert msg.subject.startswith("RE: [ESC-2026-0042] Stage 1: Team Manager")
    assert msg.thread_index_conversation == CONVERSATION
    assert "sibling contact is booked for Saturday" in msg.text
    assert msg.html is not None and "MsoNormal" in msg.html
    assert msg.problems == ()


def test_replies_in_one_outlook_conversation_share_its_id() -> None:
    ids = {
        parse_message(corpus(name)).thread_index_conversation
        for name in ("outlook-desktop-reply", "outlook-web-reply", "command-resolved")
    }
    assert ids == {CONVERSATION}


@pytest.mark.parametrize(
    ("value", "conversation"),
    [
        (None, None),
        ("", None),
        ("not base64 at all!", None),
        ("AQHbZDI0", None),  # shorter than 22 bytes
        ("AdxhwVX0kYHz3c9vT6a5yI7dD9XdsA==", CONVERSATION),
        ("AdxhwVX0kYHz3c9vT6a5yI7dD9XdsAAAobLD", CONVERSATION),  # one reply deeper
        ("AdxhwVX0kYHz3c9vT6a5yI7dD9XdsA", CONVERSATION),  # padding lost
    ],
)
def test_thread_conversation(value: str | None, conversation: str | None) -> None:
    assert thread_conversation(value) == conversation


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("<a@x> <b@x>", ("<a@x>", "<b@x>")),
        ("<a@x>\r\n <b@x>\t<a@x>", ("<a@x>", "<b@x>")),
        ("<a@x>,<b@x>", ("<a@x>", "<b@x>")),
        ("a@x b@x", ("<a@x>", "<b@x>")),  # brackets forgotten
        ("<a@x> (comment) <b@x>", ("<a@x>", "<b@x>")),
        ("", ()),
        ("garbage", ()),
    ],
)
def test_message_id_lists(value: str, ids: tuple[str, ...]) -> None:
    assert message_id_list(value) == ids


def test_microsoft_original_message_id_is_kept() -> None:
    raw = (
        b"From: a@example.test\r\nMessage-ID: <LO4P265MB1@x.PROD.OUTLOOK.COM>\r\n"
        b"X-Microsoft-Original-Message-ID: <1764.1@northshire.example.test>\r\n\r\nhi"
    )
    msg = parse_message(raw)
    assert msg.message_id == "<LO4P265MB1@x.PROD.OUTLOOK.COM>"
    assert msg.original_message_id == "<1764.1@northshire.example.test>"
    assert normalise_message_id(" 1764.1@northshire.example.test ") == (
        "<1764.1@northshire.example.test>"
    )


def test_headers_are_case_insensitive_and_decoded() -> None:
    msg = parse_message(corpus("base64-urdu-welsh-challenge"))
    assert msg.headers.get("SUBJECT") == msg.subject == "[CHALLENGE] Asesiad iechyd – عائشہ خان"
    assert "message-id" in msg.headers
    assert msg.headers.get("X-Not-There") is None
    assert msg.headers.get_all("received") == []


def test_raw_8bit_headers_are_read_and_reported() -> None:
    msg = parse_message(corpus("broken-8bit-headers"))
    assert msg.subject == "RE: [ESC-2026-0042] café £ allowance"
    assert msg.from_name == "Siân Llŷr"
    assert "the Subject header has raw 8-bit bytes instead of encoded words" in msg.problems


def test_html_only_email_gets_text() -> None:
    msg = parse_message(corpus("outlook-web-challenge-html-only"))
    assert msg.html is not None
    assert msg.text.startswith("Child: 712045\nPlan: Child protection\n")


def test_attachments_and_attached_emails_are_listed_not_opened() -> None:
    ndr = parse_message(corpus("bounce-exchange-ndr"))
    assert ndr.is_multipart_report and ndr.report_type == "delivery-status"
    assert [a.content_type for a in ndr.attachments] == [
        "message/delivery-status", "message/rfc822",
    ]
    assert "Dear Aisha Khan" not in ndr.text  # the returned email is not our text
    winmail = parse_message(corpus("broken-winmail-dat"))
    assert winmail.attachments == (Attachment("winmail.dat", "application/ms-tnef", 531),)


def test_missing_headers_are_problems_not_failures() -> None:
    msg = parse_message(corpus("broken-missing-headers"))
    assert (msg.from_addr, msg.message_id, msg.date) == (None, None, None)
    assert msg.problems == ("no From header", "no Message-ID header", "no Date header")


def test_deep_nesting_is_cut_off() -> None:
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(60)
    )
    msg = parse_message(b"From: a@example.test\r\n" + head + b"Content-Type: text/plain\r\n\r\nx")
    assert "the email is nested too deeply; the innermost parts were skipped" in msg.problems


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\r\n\r\n", bytearray(b"Subject: x\n\nhi")])
def test_anything_parses(raw: bytes) -> None:
    parse_message(raw)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p class=MsoNormal>One<o:p></o:p></p><p class=MsoNormal>Two</p>", "One\nTwo"),
        ("<p class=MsoNormal>One</p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>"
         "Two</p>", "One\n\nTwo"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<div>One</div><div><br></div><div>Two</div>", "One\n\nTwo"),
        ("One<br>Two<br/>Three", "One\nTwo\nThree"),
        ("<table><tr><td>Child</td><td>123456</td></tr></table>", "Child\t123456"),
        ("<style>p {color:red}</style><script>x()</script><title>t</title>Body", "Body"),
        ("<!--[if gte mso 9]><xml><o:x/></xml><![endif]-->Body", "Body"),
        ("A &amp; B &lt;c&gt; caf&eacute; &#163;5", "A & B <c> café £5"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("Agreed.<hr>From: x", "Agreed.\n________________________________\nFrom: x"),
        ("<pre>keep   spacing\nhere</pre>", "keep   spacing\nhere"),
        ("<b>unclosed <i>tags <div>everywhere", "unclosed tags\neverywhere"),
        ("<head><title>x</title>no closing head, still shown", "no closing head, still shown"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
