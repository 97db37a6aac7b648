"""The outbox: queued with the decision, sent once, retried safely, never lost in a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailagent.clock import FixedClock
from mailagent.store.db import create_db_engine, transaction, upgrade
from mailagent.store.models import Outbound
from mailagent.store.outbox import OutgoingEmail, Sender, deliver_due, queue_email
from mailagent.transports.base import PermanentFailure, TemporaryFailure
from mailagent.transports.files import FilesTransport
from mailagent.transports.smtp import SmtpTransport

SENDER = Sender("agent@example.test", "IRO Escalations")
NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    return engine


def _queue(engine, key: str = "k1", to: str = "tm1@example.test") -> None:
    email = OutgoingEmail(to=[f"Tara Moss <{to}>"], subject="[ESC-2026-0001] test", text="hello")
    with transaction(engine) as session:
        queue_email(session, email, sender=SENDER, purpose="test", dedupe_key=key, now=NOW)


def _rows(engine) -> list[Outbound]:
    with Session(engine) as session:
        return list(session.exec(select(Outbound).order_by(Outbound.id)))


class FlakyTransport:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures, self.sent = failures, []

    def send(self, sender, recipients, raw, message_id) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message_id)

    def close(self) -> None: ...


def test_same_dedupe_key_queues_one_email(engine) -> None:
    _queue(engine, "same")
    _queue(engine, "same")
    _queue(engine, "other")
    assert [r.dedupe_key for r in _rows(engine)] == ["same", "other"]


def test_queued_email_has_threading_and_envelope(engine) -> None:
    _queue(engine)
    (row,) = _rows(engine)
    assert row.recipients == ["tm1@example.test"]
    assert row.status == "queued"
    assert f"Message-ID: {row.message_id}".encode() in row.raw


def test_delivered_once_then_not_again(engine, tmp_path: Path) -> None:
    _queue(engine)
    transport = FilesTransport(tmp_path / "sent")
    clock = FixedClock(NOW)
    assert deliver_due(engine, transport, clock, SENDER).sent == 1
    assert deliver_due(engine, transport, clock, SENDER).sent == 0
    assert len(list((tmp_path / "sent" / "new").iterdir())) == 1
    assert _rows(engine)[0].status == "sent"


def test_temporary_failure_retries_with_backoff(engine) -> None:
    _queue(engine)
    transport = FlakyTransport([TemporaryFailure("421 try later")] * 2)
    clock = FixedClock(NOW)
    report = deliver_due(engine, transport, clock, SENDER, backoff_seconds=60)
    assert report.retrying == 1 and transport.sent == []
    row = _rows(engine)[0]
    assert row.status == "queued" and row.not_before == NOW + timedelta(seconds=60)
    assert deliver_due(engine, transport, clock, SENDER).sent == 0  # not due yet
    clock.advance(timedelta(seconds=60))
    deliver_due(engine, transport, clock, SENDER, backoff_seconds=60)
    assert _rows(engine)[0].not_before == NOW + timedelta(seconds=180)  # doubled
    clock.advance(timedelta(seconds=120))
    assert deliver_due(engine, transport, clock, SENDER).sent == 1
    assert len(transport.sent) == 1 and _rows(engine)[0].attempts == 3


def test_permanent_failure_is_not_retried(engine) -> None:
    _queue(engine)
    transport = FlakyTransport([PermanentFailure("550 no such user")])
    clock = FixedClock(NOW)
    report = deliver_due(engine, transport, clock, SENDER)
    assert report.failed == [_rows(engine)[0].id]
    clock.advance(timedelta(days=1))
    deliver_due(engine, transport, clock, SENDER)
    row = _rows(engine)[0]
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error


def test_gives_up_after_max_attempts(engine) -> None:
    _queue(engine)
    transport = FlakyTransport([TemporaryFailure("451")] * 10)
    clock = FixedClock(NOW)
    for _ in range(3):
        deliver_due(engine, transport, clock, SENDER, max_attempts=3, backoff_seconds=1)
        clock.advance(timedelta(hours=1))
    assert _rows(engine)[0].status == "failed"


# -- against the real SMTP server and Dovecot ---------------------------------------------

CRASHER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from mailagent.store.outbox import OutgoingEmail, Sender, deliver_due, queue_email
    from mailagent.clock import FixedClock
    from mailagent.store.db import create_db_engine, transaction, upgrade

    url, mode = sys.argv[1], sys.argv[2]
    engine = create_db_engine(url)
    upgrade(engine)
    sender = Sender("agent@example.test", "IRO Escalations")
    email = OutgoingEmail(to=["tm1@example.test"], subject="[ESC-2026-0001] crash", text="hi")
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    with transaction(engine) as session:
        queue_email(session, email, sender=sender, purpose="t", dedupe_key="crash", now=now)

    class Hangs:
        def send(self, *args):
            print("in-flight", flush=True)
            time.sleep(120)

    if mode == "queued":
        print("queued", flush=True)
        time.sleep(120)
    else:
        deliver_due(engine, Hangs(), FixedClock(now), sender)
    """
)


@pytest.mark.servers
@pytest.mark.parametrize("moment", ["queued", "in-flight"])
def test_killed_before_sending_delivers_exactly_once(mailboxes, tmp_path: Path, moment) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER)
    mode = "queued" if moment == "queued" else "deliver"
    proc = subprocess.Popen(
        [sys.executable, str(script), url, mode], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == moment
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    engine = create_db_engine(url)
    assert [r.status for r in _rows(engine)] == ["queued" if moment == "queued" else "sending"]
    transport = SmtpTransport(mailboxes.smtp_host, mailboxes.smtp_port, security="none")
    clock = FixedClock(NOW + timedelta(minutes=1))
    assert deliver_due(engine, transport, clock, SENDER).sent == 1
    assert deliver_due(engine, transport, clock, SENDER).sent == 0  # the restart after that
    (raw,) = mailboxes.wait_for_mail("tm1", 1)
    assert b"[ESC-2026-0001] crash" in raw
    assert len(mailboxes.fetch_all("tm1")) == 1
    assert _rows(engine)[0].status == "sent"


@pytest.mark.servers
def test_smtp_refusal_of_unknown_recipient_is_permanent(mailboxes, engine) -> None:
    _queue(engine, to="nobody@example.test")
    transport = SmtpTransport(mailboxes.smtp_host, mailboxes.smtp_port, security="none")
    report = deliver_due(engine, transport, FixedClock(NOW), SENDER)
    assert len(report.failed) == 1
    assert _rows(engine)[0].status == "failed"


@pytest.mark.servers
def test_xoauth2_smtp_sends_with_the_bearer_token(xoauth2_smtp, mailboxes, engine) -> None:
    _queue(engine)
    transport = SmtpTransport(
        xoauth2_smtp.host, xoauth2_smtp.port, security="none", username="agent@example.test",
        token_provider=lambda: xoauth2_smtp.token,
    )
    assert deliver_due(engine, transport, FixedClock(NOW), SENDER).sent == 1
    assert len(mailboxes.wait_for_mail("tm1", 1)) == 1


@pytest.mark.servers
def test_a_refused_xoauth2_token_is_retried_with_a_fresh_one(xoauth2_smtp, mailboxes, engine):
    _queue(engine)

    class Tokens:
        """A token provider whose first token has been revoked."""

        def __init__(self) -> None:
            self.tokens, self.invalidated = ["revoked-token", xoauth2_smtp.token], 0

        def __call__(self) -> str:
            return self.tokens[0]

        def invalidate(self) -> None:
            self.invalidated += 1
            self.tokens.pop(0)

    tokens = Tokens()
    transport = SmtpTransport(xoauth2_smtp.host, xoauth2_smtp.port, security="none",
                              username="agent@example.test", token_provider=tokens)
    clock = FixedClock(NOW)
    first = deliver_due(engine, transport, clock, SENDER, backoff_seconds=1)
    assert (first.sent, first.retrying, first.failed) == (0, 1, [])
    assert tokens.invalidated == 1
    clock.advance(timedelta(seconds=1))
    assert deliver_due(engine, transport, clock, SENDER).sent == 1
    assert [a.accepted for a in xoauth2_smtp.attempts] == [False, True]
    assert len(mailboxes.wait_for_mail("tm1", 1)) == 1
