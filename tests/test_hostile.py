"""Hostile mail through the whole pipeline: each message is processed or quarantined with a
reason, the loop never stops, memory stays bounded, and nothing the sender wrote becomes a
header or a script in what we send."""

from __future__ import annotations

import base64
import tracemalloc
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailagent.store.models import Inbound, Outbound
from tests.desk import ESCALATION, Desk
from tests.support import london

AT = london(2026, 11, 2, 10)
IRO = "iro1@example.test"
MIB = 1024 * 1024


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk(tmp_path, AT)
    yield desk
    desk.close()


def mail(headers: str, body: bytes = b"Hello.\r\n", sender: str = IRO) -> bytes:
    head = (f"From: Irene Reed <{sender}>\r\nTo: agent@example.test\r\n"
            "Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash((headers, body[:64])))}@example.test>\r\n" + headers)
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


def nested(depth: int) -> bytes:
    opening = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                       for i in range(depth))
    return mail("Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n",
                opening + b"--b%d\r\nContent-Type: text/plain\r\n\r\nhi\r\n" % depth)


def many_parts(count: int) -> bytes:
    parts = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i
                     for i in range(count))
    return mail("Subject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n",
                parts + b"--p--\r\n")


def attachment(size: int) -> bytes:
    data = base64.encodebytes(b"\x89PNG" + b"\0" * size)
    return mail("Subject: [ESCALATE] with the report\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=a\r\n",
                b"--a\r\nContent-Type: text/plain\r\n\r\n" + ESCALATION.encode() +
                b"\r\n--a\r\nContent-Type: image/png; name=big.png\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" + data + b"--a--\r\n")


WORDS = "=?utf-8?q?a?= " * (1024 * 1024 // 14)  # 1 MB of RFC 2047 encoded words
SOME_WORDS = WORDS[: 64 * 1024]
OVER_LIMIT = {
    "encoded-word bomb in Subject": (mail(f"Subject: {WORDS}\r\n"), "header is longer"),
    "encoded-word bomb in To": (mail(f"To: {WORDS}\r\nSubject: x\r\n"), "header is longer"),
    "encoded words filling one field": (mail(f"Subject: {SOME_WORDS}\r\n"), "header fields"),
    "huge header": (mail("".join(f"X-Junk-{i}: {'x' * 90}\r\n" for i in range(6000))
                         + "Subject: x\r\n"), "header is longer"),
    "thousands of parts": (many_parts(5000), "parts"),
    "deep nesting": (nested(3000), "parts"),
    "nesting within the part count": (nested(60), "nested"),
    "50 MB attachment": (attachment(50 * MIB), "the most that can be read is 40 MB"),
}


def _inbound(desk: Desk) -> list[Inbound]:
    with Session(desk.agent.engine) as session:
        return list(session.exec(select(Inbound).order_by(Inbound.id)))


@pytest.mark.parametrize("name", OVER_LIMIT)
def test_mail_over_a_limit_is_quarantined_unread_within_bounded_memory(
    desk: Desk, name: str
) -> None:
    raw, why = OVER_LIMIT[name]
    desk.receive(raw)
    tracemalloc.start()
    try:
        report = desk.run(AT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.quarantined == 1
    (row,) = _inbound(desk)
    assert row.status == "quarantined" and row.reason.startswith("limits: ") and why in row.reason
    # Reading the message, storing it once and dropping it: a few copies of its bytes at
    # most, never the gigabytes an encoded-word bomb takes to decode.
    assert peak < 4 * len(raw) + 40 * MIB, f"{peak / MIB:.0f} MiB for {len(raw) / MIB:.1f} MiB"
    # The IRO is told once that it could not be read; nothing else happens.
    assert [s.purpose for s in desk.outbox()] == ["over_limit"]
    assert desk.outbox()[0].to == [IRO]


def test_a_stranger_over_a_limit_is_not_told(desk: Desk) -> None:
    desk.receive(mail(f"Subject: {WORDS}\r\n", sender="outsider@example.test"))
    assert desk.run(AT).quarantined == 1
    assert desk.outbox() == []


def test_notices_of_mail_over_a_limit_are_capped_per_sender_per_day(desk: Desk) -> None:
    for n in range(8):
        desk.receive(mail(f"Subject: {n} {WORDS}\r\n"))
    assert desk.run(AT).quarantined == 8
    cap = desk.agent.settings.limits.max_answers_per_sender_per_day
    assert [s.purpose for s in desk.outbox()] == ["over_limit"] * cap


ODD = {
    "NUL bytes": mail("Subject: [ESCALATE] nul\0here\r\n", ESCALATION.encode() + b"\0\0\r\n"),
    "unknown charset": mail("Subject: =?x-klingon?q?qapla?=\r\nContent-Type: text/plain; "
                            "charset=x-klingon\r\n", b"\xff\xfe tlhIngan Hol\r\n"),
    "utf-7 and broken base64": mail(
        "Subject: =?utf-7?b?!!!?=\r\nContent-Type: text/plain; charset=utf-7\r\n"
        "Content-Transfer-Encoding: base64\r\n", b"not base64 at all ***\r\n"),
    "8-bit junk headers": mail("Subject: caf\udce9 \udcff\r\n", b"\xc3\x28 bad utf-8\r\n"),
    "no headers at all": b"\r\n\r\njust a body",
    "empty": b"",
}


@pytest.mark.parametrize("name", ODD)
def test_odd_mail_is_processed_or_quarantined_with_a_reason(desk: Desk, name: str) -> None:
    desk.receive(ODD[name] or b"\r\n")
    report = desk.run(AT)
    assert report.processed + report.quarantined == 1
    (row,) = _inbound(desk)
    assert row.status in ("processed", "quarantined")
    assert row.status == "processed" or row.reason
    assert "internal error" not in (row.reason or "")


INJECTION = "Team review\r\nBcc: evil@attacker.example\r\nX-Injected: yes"


def test_cr_lf_written_by_a_sender_never_becomes_a_header_of_ours(desk: Desk) -> None:
    encoded = "=?utf-8?b?" + base64.b64encode(INJECTION.encode()).decode() + "?="
    desk.receive(mail(f"Subject: [ESCALATE] {encoded}\r\n",
                      ESCALATION.replace("Team: North", "Team: North\r\nBcc: evil@x").encode()))
    desk.receive(mail(f"Subject: [ESCALATE] {encoded}\r\n", b"Child: 123456\r\n"))  # corrections
    desk.run(AT)
    sent = desk.outbox()
    assert {"acknowledgment", "fields_problem"} <= {s.purpose for s in sent}
    for email in sent:
        msg = message_from_bytes(email.row.raw, policy=policy.default)
        assert "Bcc" not in msg and "X-Injected" not in msg
        assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])
        assert "evil@" not in str(msg["To"]) + str(msg.get("Cc", ""))
        assert email.row.recipients and "evil@attacker.example" not in email.row.recipients


def test_scripts_in_html_mail_never_reach_our_html(desk: Desk) -> None:
    body = ("<html><body onload=\"steal()\"><script>alert('x')</script>"
            + "".join(f"<p>{line}</p>" for line in ESCALATION.splitlines())
            .replace("has not been started.", "has not been started. "
                     "<img src=x onerror=alert(1)>&lt;script&gt;alert(2)&lt;/script&gt;")
            + "</body></html>")
    desk.receive(mail("Subject: [ESCALATE] html only\r\nContent-Type: text/html\r\n",
                      body.encode()))
    desk.run(AT)
    sent = desk.outbox()
    assert "escalation" in {s.purpose for s in sent}
    for email in sent:
        html = email.html.lower()
        assert "<script" not in html and "onerror=" not in html and "onload=" not in html
    with Session(desk.agent.engine) as session:
        assert session.exec(select(Outbound)).first() is not None
