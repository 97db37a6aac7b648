"""Outlook's own formats: an Outlook item (.msg) dropped into the mailbox is read for what it
holds and never acted on; a winmail.dat (TNEF) gives its text and attachments."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from extract_msg.ole_writer import OleWriter

from mailagent.mail.classify import classify
from mailagent.mail.parse import parse_message
from mailagent.policy.vocabulary import Vocabulary, load_vocabulary
from tests import make_outlook_corpus
from tests.clients import outlook_new
from tests.desk import ESCALATION, IRO, Desk
from tests.outlook_files import outlook_item, winmail_dat
from tests.support import london

CORPUS = Path(__file__).resolve().parent / "corpus"
HELD = "never acted on"


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary(Path(__file__).resolve().parents[1] / "rules")


@pytest.mark.parametrize("name", sorted(make_outlook_corpus.FILES))
def test_the_corpus_files_are_what_the_builders_make(name: str) -> None:
    assert (CORPUS / name).read_bytes() == make_outlook_corpus.FILES[name]()


# .msg -------------------------------------------------------------------------------


def test_an_outlook_item_is_read_as_the_email_it_holds_and_held() -> None:
    msg = parse_message((CORPUS / "outlook-item-dropped.msg").read_bytes())
    assert (msg.from_addr, msg.subject[:20]) == ("aisha.khan@northshire.example.test",
                                                 "RE: [ESC-2026-0042] ")
    assert msg.in_reply_to == ("<176458452301.4021.9981726354418273645@northshire.example.test>",)
    assert msg.text.startswith("#resolved\nOutcome: Sibling contact resumed on Saturday.")
    assert msg.held is not None and HELD in msg.held
    assert msg.raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the file as it was dropped


def test_an_item_without_transport_headers_is_read_from_its_properties() -> None:
    raw = outlook_item(subject="Placement drift", body="A note to myself.",
                       sender="irene.reed@example.test", sender_name="Irene Reed")
    msg = parse_message(raw)
    assert (msg.from_addr, msg.from_name, msg.subject) == (
        "irene.reed@example.test", "Irene Reed", "Placement drift")
    assert msg.text.strip() == "A note to myself."
    assert msg.held is not None


def test_an_office_document_is_named_for_what_it_is(vocab: Vocabulary) -> None:
    import io

    writer = OleWriter()
    writer.addEntry("WordDocument", b"\x00" * 600)
    out = io.BytesIO()
    writer.write(out)
    msg = parse_message(out.getvalue())
    assert msg.problems == ("this is an Office document (an OLE compound file, such as a .doc "
                            "or .xls), not an email",)
    assert msg.held is not None
    result = classify(msg, vocab)
    assert result.commands == () and not any("is not a command" in p for p in result.problems)


def test_a_damaged_item_says_so() -> None:
    msg = parse_message(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00#resolved\n" * 100)
    assert msg.problems[0].startswith("this is an Outlook item (.msg file) that is damaged")
    assert msg.held is not None


def test_without_the_outlook_extra_an_item_is_still_held_and_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "extract_msg", None)  # as if not installed
    msg = parse_message((CORPUS / "outlook-item-dropped.msg").read_bytes())
    assert msg.problems == ("this is an Outlook item (.msg file), which this installation "
                            "cannot read (install mailagent[outlook])",)
    assert msg.held is not None and HELD in msg.held


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk(tmp_path, london(2026, 11, 2, 10))
    yield desk
    desk.close()


def test_a_dropped_item_is_quarantined_with_its_reason_and_nothing_is_sent(desk: Desk) -> None:
    desk.receive(outlook_new(IRO, "[ESCALATE] Placement plan not started", ESCALATION,
                             at=london(2026, 11, 2, 10)))
    desk.run(london(2026, 11, 2, 10, 5))
    desk.new()
    # Someone saves a manager's "#resolved" reply from Outlook and drops the file in.
    desk.receive((CORPUS / "outlook-item-dropped.msg").read_bytes())
    report = desk.run(london(2026, 11, 2, 10, 5) + timedelta(minutes=5))
    assert report.quarantined == 1
    assert HELD in (report.outcomes[-1].reason or "")
    assert desk.new() == []  # no "is not a command", no help, no acknowledgment
    assert desk.case().status == "open"


# TNEF -------------------------------------------------------------------------------

WRAPPED_HTML = (r"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0 Calibri;}}"
                r"{\*\htmltag19 <html>}{\*\htmltag34 <body>}{\*\htmltag64 <p>}\htmlrtf {"
                r"\htmlrtf0 Contact is booked.{\*\htmltag72 </p>}\htmlrtf }\htmlrtf0 "
                r"{\*\htmltag42 </body>}{\*\htmltag27 </html>}}")
NATIVE_RTF = (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fnil Calibri;}}\viewkind4\uc1"
              r"\pard\f0\fs22 Contact is booked.\par Gareth\par}")


def rich_text(tnef: bytes) -> bytes:
    encoded = base64.encodebytes(tnef).decode("ascii")
    return (
        "From: Gareth Pryce <gp@example.test>\nSubject: RE: [ESC-2026-0042] x\n"
        "Date: Wed, 2 Dec 2026 10:15:00 +0000\nMessage-ID: <rt1@example.test>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
        '--b\nContent-Type: application/ms-tnef; name="winmail.dat"\n'
        "Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="winmail.dat"\n\n{encoded}\n--b--\n'
    ).encode("ascii")


@pytest.mark.parametrize(
    ("tnef", "text"),
    [
        (winmail_dat(rtf=WRAPPED_HTML), "Contact is booked."),  # Outlook's HTML, in RTF
        (winmail_dat(rtf=NATIVE_RTF), "Contact is booked.\nGareth"),  # written as RTF
        (winmail_dat(body="Contact is booked.\r\nGareth"), "Contact is booked.\nGareth"),
    ],
)
def test_the_text_of_outlook_rich_text_is_read_from_winmail_dat(tnef: bytes, text: str) -> None:
    msg = parse_message(rich_text(tnef))
    assert msg.text.replace("\r\n", "\n").strip() == text
    assert msg.problems == ()


def test_files_inside_winmail_dat_are_listed() -> None:
    tnef = winmail_dat(body="See attached.", attachments=(("Contact plan.pdf", b"%PDF-1.4"),))
    names = [(a.filename, a.size) for a in parse_message(rich_text(tnef)).attachments]
    assert names == [("winmail.dat", len(tnef)), ("Contact plan.pdf", 8)]


def test_a_damaged_winmail_dat_says_so() -> None:
    msg = parse_message(rich_text(b"not tnef at all"))
    assert msg.text == ""
    assert msg.problems == ("the text is inside a winmail.dat attachment (Outlook rich text) "
                            "that is damaged and cannot be read (ValueError): ask the sender "
                            "to send in HTML or plain text",)
