"""Machine-sent mail is recognised, and bounces say what failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailagent.mail.automated import AutomatedKind, bounce_details, detect_automated
from mailagent.mail.parse import parse_message

CORPUS = Path(__file__).resolve().parent / "corpus"
HUMAN_REPLY = {
    "From": "Aisha Khan <aisha.khan@northshire.example.test>",
    "To": "iro-escalations@northshire.example.test",
    "Subject": "RE: [ESC-2026-0042] Stage 1: Team Manager",
    "Message-ID": "<a1@northshire.example.test>",
    "In-Reply-To": "<ours@northshire.example.test>",
    # Outlook and our own outbox set this on ordinary mail: it asks others not to
    # auto-reply; it does not make the message automatic
    "X-Auto-Response-Suppress": "All",
}


def email(headers: dict[str, str], body: str = "Thank you, booked for Monday.\n") -> bytes:
    head = "".join(f"{name}: {value}\n" for name, value in headers.items())
    return (head + "\n" + body).encode("utf-8")


def detect(**changes: str | None) -> tuple[AutomatedKind, str] | None:
    headers = {**HUMAN_REPLY, **{k.replace("_", "-"): v for k, v in changes.items()}}
    found = detect_automated(parse_message(email({k: v for k, v in headers.items() if v})))
    return (found.kind, found.reason) if found else None


def test_a_person_replying_is_not_automated() -> None:
    assert detect() is None


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({"Auto_Submitted": "auto-replied"}, AutomatedKind.AUTOREPLY),
        ({"Auto_Submitted": "auto-generated"}, AutomatedKind.AUTOREPLY),
        ({"Auto_Submitted": "auto-replied", "Subject": "Undeliverable: x"}, AutomatedKind.BOUNCE),
        ({"X_Autoreply": "yes"}, AutomatedKind.AUTOREPLY),
        ({"X_Autorespond": "Out of office"}, AutomatedKind.AUTOREPLY),
        ({"X_MS_Exchange_Inbox_Rules_Loop": "aisha.khan@example.test"}, AutomatedKind.AUTOREPLY),
        ({"X_MS_Exchange_Message_Is_Ndr": " "}, AutomatedKind.BOUNCE),
        ({"Precedence": "auto_reply"}, AutomatedKind.AUTOREPLY),
        ({"Precedence": "bulk"}, AutomatedKind.BULK),
        ({"Precedence": "junk"}, AutomatedKind.BULK),
        ({"Precedence": "list"}, AutomatedKind.BULK),
        ({"Precedence": "bulk", "Subject": "Out of Office: RE: x"}, AutomatedKind.AUTOREPLY),
        ({"Return_Path": "<>"}, AutomatedKind.AUTOREPLY),
        ({"Return_Path": "<>", "From": "MAILER-DAEMON@mx.example.test"}, AutomatedKind.BOUNCE),
        ({"From": "postmaster@example.test"}, AutomatedKind.BOUNCE),
        ({"Subject": "Automatic reply: RE: [ESC-2026-0042] x"}, AutomatedKind.AUTOREPLY),
        ({"Subject": "Out of Office: RE: [ESC-2026-0042] x"}, AutomatedKind.AUTOREPLY),
        ({"Subject": "[EXTERNAL] Out of the office until Monday"}, AutomatedKind.AUTOREPLY),
        ({"Subject": "Allan o'r swyddfa: RE: x"}, AutomatedKind.AUTOREPLY),
        ({"Subject": "Allan o’r swyddfa"}, AutomatedKind.AUTOREPLY),
        ({"Subject": "Ateb awtomatig: RE: x"}, AutomatedKind.AUTOREPLY),
        ({"Subject": "Automatische Antwort: AW: x"}, AutomatedKind.AUTOREPLY),
        ({"Subject": "Undeliverable: [ESC-2026-0042] x"}, AutomatedKind.BOUNCE),
        ({"Subject": "Delivery Status Notification (Failure)"}, AutomatedKind.BOUNCE),
        ({"Subject": "Read: [ESC-2026-0042] x"}, AutomatedKind.READ_RECEIPT),
    ],
)
def test_automated_signals(changes: dict[str, str], kind: AutomatedKind) -> None:
    found = detect(**changes)
    assert found is not None and found[0] is kind


@pytest.mark.parametrize(
    "subject",
    [
        "RE: out of office cover for the review",  # a person writing about being away
        "RE: Automatic replies are annoying",
        "Re: [ESC-2026-0042] undeliverable promises",
    ],
)
def test_subjects_that_only_mention_absence_are_people(subject: str) -> None:
    assert detect(Subject=subject) is None


def test_auto_submitted_no_is_a_person() -> None:
    assert detect(Auto_Submitted="no") is None


@pytest.mark.parametrize(
    ("report_type", "kind"),
    [
        ("delivery-status", AutomatedKind.BOUNCE),
        ("disposition-notification", AutomatedKind.READ_RECEIPT),
        ("feedback-report", AutomatedKind.FEEDBACK_REPORT),
    ],
)
def test_multipart_reports(report_type: str, kind: AutomatedKind) -> None:
    raw = email(
        {**HUMAN_REPLY, "Content-Type": f'multipart/report; report-type={report_type}; '
                                        'boundary="b"'},
        "--b\nContent-Type: text/plain\n\nreport\n--b--\n",
    )
    found = detect_automated(parse_message(raw))
    assert found is not None and found.kind is kind


def test_the_reason_names_the_signal_not_the_content() -> None:
    found = detect(X_MS_Exchange_Inbox_Rules_Loop="aisha.khan@example.test")
    assert found == (AutomatedKind.AUTOREPLY, "X-MS-Exchange-Inbox-Rules-Loop header")


@pytest.mark.parametrize("eml", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
def test_corpus_automated_flags(eml: Path) -> None:
    expected = json.loads(eml.with_name(eml.stem + ".expected.json").read_text("utf-8"))
    assert (detect_automated(parse_message(eml.read_bytes())) is not None) is expected["automated"]


# Bounces --------------------------------------------------------------------------

OURS_STAGE2 = (
    "<LO4P265MB62070A1B2C3D4E5F60718293A4B5C6D7@LO4P265MB6207.GBRP265.PROD.OUTLOOK.COM>",
    "<176467210533.4021.1127364554637281920@northshire.example.test>",
)


@pytest.mark.parametrize(
    ("name", "ids", "recipients"),
    [
        # Exchange: the whole original is attached; the manager who did get it is not listed
        ("bounce-exchange-ndr", OURS_STAGE2, ("gareth.pryce@northshire.example.test",)),
        # Postfix: only the original's headers come back
        (
            "bounce-postfix",
            (
                "<LO4P265MB6207AABBCCDDEEFF0011223344556677@LO4P265MB6207.GBRP265.PROD.OUTLOOK.COM>",
                "<176475329012.4021.6677889900112233445@northshire.example.test>",
            ),
            ("bethan.hughes@health.example.test",),
        ),
        # qmail: no report at all, the original pasted below a line of text
        ("bounce-qmail-plain", OURS_STAGE2, ("olu.adebayo@oldhost.example.test",)),
    ],
)
def test_bounce_details(name: str, ids: tuple[str, ...], recipients: tuple[str, ...]) -> None:
    details = bounce_details(parse_message((CORPUS / f"{name}.eml").read_bytes()))
    assert details.original_message_ids == ids
    assert details.failed_recipients == recipients
    assert details.original_subject is not None
    assert details.original_subject.startswith("[ESC-2026-0042] Stage ")


def test_a_damaged_bounce_gives_what_it_can() -> None:
    raw = (CORPUS / "bounce-exchange-ndr.eml").read_bytes()[:2500]
    details = bounce_details(parse_message(raw))
    assert details.original_message_ids == ()


def test_x_failed_recipients_is_read_when_there_is_no_report() -> None:
    raw = email({
        "From": "Mail Delivery System <mailer-daemon@mx.example.test>",
        "Subject": "Mail delivery failed: returning message to sender",
        "X-Failed-Recipients": "olu.adebayo@oldhost.example.test",
    }, "This message was created automatically by mail delivery software.\n")
    details = bounce_details(parse_message(raw))
    assert details.failed_recipients == ("olu.adebayo@oldhost.example.test",)
