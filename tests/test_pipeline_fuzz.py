"""Thousands of generated emails through the whole pipeline (Maildir in, SQLite, the cases,
the outbox, files out): every one is processed or quarantined with a reason, none is an
internal error, and the loop never stops.

The emails are built from the parts that steer the pipeline: senders in and out of the
directory, tags, case references and markers of real cases, threading headers naming our
own emails, commands, fields, machine-mail headers, charsets, MIME shapes; and damaged
copies of the corpus. Batches go through `run_once` as a mailbox would deliver them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from mailagent.store.models import Inbound, Outbound
from tests.desk import ESCALATION, Desk
from tests.support import london
from tests.test_inspect_fuzz import damaged_corpus_email

AT = london(2026, 11, 2, 10)
PIPELINE = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_serial = itertools.count()

PEOPLE = ["iro1", "iro2", "tm1", "tm2", "sw1", "sm1", "manager", "hos1", "outsider",
          "agent", "mailer-daemon"]
SUBJECTS = st.sampled_from([
    "[ESCALATE] Placement plan", "#challenge school move", "[COMMEND] great work",
    "[COLLECTIVE] Theme", "RE: [ESC-2026-0001] Stage One", "Re: [PC-2026-0001] x",
    "FW: [ESC-2026-0002] fwd", "Automatic reply: away", "Undeliverable: x", "Quick question",
    "=?utf-8?b?W0VTQ0FMQVRFXSDwn5iA?=", "", "[ESC-2026-9999] guessed",
    "Read: [ESC-2026-0001]",
])
LINES = st.sampled_from([
    *ESCALATION.splitlines(), "#resolved", "#escalate", "#extend 5", "#extend x",
    "#withdraw no longer needed", "#pause waiting for court", "#resume", "#note spoke to TM",
    "#agree", "#cafcass", "[ma:ESC-2026-0001]", "[ma:ESC-2026-0003]", "Outcome: agreed",
    "Learning: named owners", "> quoted line", "-----Original Message-----",
    "I am out of the office until Monday.", "Thanks, on it.", "Stage: 3",
    "Respond by: 31/02/2026", "\u202e\u0000\ufeff", "Child: " + "9" * 40,
])
HEADERS = st.sampled_from([
    ("Auto-Submitted", "auto-replied"), ("Precedence", "list"), ("List-Id", "<l.example.test>"),
    ("X-Autoreply", "yes"), ("Return-Path", "<>"), ("Thread-Index", "AdkAAAAAAAAAAAAAAAAAAAAA"),
    ("X-MS-Exchange-Organization-AuthAs", "Internal"), ("Content-Language", "cy-GB"),
    ("Authentication-Results", "spf=fail smtp.mailfrom=example.test; dmarc=fail"),
])
ONE_LINE = st.characters(blacklist_categories=("Cs", "Cc"))
CHARSETS = st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "utf-16", "x-unknown",
                            "us-ascii"])


@st.composite
def person_email(draw: st.DrawFn) -> bytes:
    """An email as a person or a machine might send it to the shared mailbox."""
    msg = EmailMessage()
    msg["From"] = f"{draw(st.sampled_from(PEOPLE))}@example.test"
    msg["To"] = "agent@example.test"
    if draw(st.booleans()):
        msg["Cc"] = ", ".join(f"{p}@example.test" for p in draw(st.lists(
            st.sampled_from(PEOPLE), max_size=3)))
    msg["Subject"] = draw(st.one_of(SUBJECTS, st.text(ONE_LINE, max_size=60)))
    msg["Date"] = format_datetime(AT)
    msg["Message-ID"] = f"<fuzz-{next(_serial)}@example.test>"
    reply_to = draw(st.sampled_from(["none", "ours", "guess"]))
    if reply_to != "none":
        # "ours" is replaced by one of the agent's own Message-IDs when the batch is sent.
        msg["In-Reply-To"] = "<OURS>" if reply_to == "ours" else "<guess@agent.example.test>"
    for name, value in draw(st.lists(HEADERS, max_size=2, unique=True)):
        msg[name] = value
    text = "\n".join(draw(st.lists(st.one_of(LINES, st.text(max_size=80)), max_size=12)))
    charset = draw(CHARSETS)
    try:
        msg.set_content(text, charset=charset if charset != "x-unknown" else "utf-8")
    except (UnicodeError, LookupError):
        msg.set_content(text)
    shape = draw(st.sampled_from(["plain", "html", "attachment", "report"]))
    if shape == "html":
        msg.add_alternative(f"<p>{text}</p><script>x()</script>", subtype="html")
    elif shape == "attachment":
        msg.add_attachment(draw(st.binary(max_size=300)), maintype="application",
                           subtype="octet-stream",
                           filename=draw(st.text(ONE_LINE, max_size=20)) or "f")
    elif shape == "report":
        msg.make_mixed()
        msg.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
    for part in msg.walk():  # boundaries of our own: the stdlib would draw them at random
        if part.is_multipart():
            part.set_boundary(f"==fuzz-{next(_serial)}==")
    raw = msg.as_bytes()
    if charset == "x-unknown":
        raw = raw.replace(b'charset="utf-8"', b'charset="x-unknown"', 1)
    return raw


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    desk = Desk(tmp_path_factory.mktemp("fuzz"), AT)
    # Real cases for the generated references and threads to meet.
    for n in range(3):
        desk.receive(_escalation(n))
    desk.run(AT)
    yield desk
    desk.close()


def _escalation(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Irene Reed <iro1@example.test>", "agent@example.test"
    msg["Subject"], msg["Date"] = f"[ESCALATE] Case {n}", format_datetime(AT)
    msg["Message-ID"] = f"<seed-{n}@example.test>"
    msg.set_content(ESCALATION.replace("123456", f"12345{n}"))
    return msg.as_bytes()


def _deliver_batch(desk: Desk, batch: list[bytes]) -> None:
    with Session(desk.agent.engine) as session:
        ours = list(session.exec(select(Outbound.message_id)))
    for i, raw in enumerate(batch):
        if ours:
            raw = raw.replace(b"<OURS>", ours[i % len(ours)].encode())
        desk.receive(raw)


def _check_every_message_ended_well(desk: Desk, expected: int) -> None:
    with Session(desk.agent.engine) as session:
        rows = list(session.exec(select(Inbound)))
    assert len(rows) >= expected
    for row in rows:
        assert row.status in ("processed", "quarantined"), (row.id, row.status)
        if row.status == "quarantined":
            assert row.reason, row.id
        assert not (row.reason or "").startswith("internal error"), (row.id, row.reason)


@pytest.mark.timeout(900)  # about a minute on an idle CI machine; far more on a busy one
@PIPELINE
@given(batch=st.lists(person_email(), min_size=20, max_size=60))
def test_generated_mail_through_the_whole_pipeline(desk: Desk, batch: list[bytes]) -> None:
    before = _count(desk)
    _deliver_batch(desk, batch)
    report = desk.run()
    assert report.fetched == len(batch)
    assert report.processed + report.quarantined == len(batch)
    _check_every_message_ended_well(desk, before)


@pytest.mark.timeout(900)
@PIPELINE
@given(batch=st.lists(damaged_corpus_email(), min_size=10, max_size=30))
def test_damaged_real_world_mail_through_the_whole_pipeline(
    desk: Desk, batch: list[bytes]
) -> None:
    _deliver_batch(desk, [_unique(raw) for raw in batch])
    report = desk.run()
    assert report.processed + report.quarantined == report.fetched == len(batch)
    _check_every_message_ended_well(desk, 0)


def _unique(raw: bytes) -> bytes:
    """A corpus email made a new message, so the mailbox's dedupe does not skip it."""
    return b"X-Fuzz: %d\r\n" % next(_serial) + raw


def _count(desk: Desk) -> int:
    with Session(desk.agent.engine) as session:
        return len(list(session.exec(select(Inbound.id))))


