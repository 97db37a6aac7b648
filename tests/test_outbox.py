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
from mailagent.store.delivery import RetryPolicy, deliver_due, requeue, retry_now
from mailagent.store.models import Case, Outbound
from mailagent.store.outbox import OutgoingEmail, Sender, queue_email
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


POLICY = RetryPolicy(lifetime=timedelta(days=5), first_wait=timedelta(seconds=60),
                     longest_wait=timedelta(hours=1))


def test_a_server_that_cannot_be_used_holds_the_queue_with_doubling_waits(engine) -> None:
    for key in ("k1", "k2", "k3"):
        _queue(engine, key)
    transport = FlakyTransport([TemporaryFailure("421 try later")] * 2)
    clock = FixedClock(NOW)
    report = deliver_due(engine, transport, clock, SENDER, POLICY)
    # One try: the server itself is at fault, so the rest are not hammered; all wait.
    assert (report.sent, report.retrying, report.held_until) == (0, 1, NOW + timedelta(minutes=1))
    assert [r.attempts for r in _rows(engine)] == [1, 0, 0]
    assert {r.not_before for r in _rows(engine)} == {NOW + timedelta(minutes=1)}
    assert deliver_due(engine, transport, clock, SENDER, POLICY).sent == 0  # not due yet
    clock.advance(timedelta(minutes=1))
    deliver_due(engine, transport, clock, SENDER, POLICY)
    assert {r.not_before for r in _rows(engine)} == {clock.now() + timedelta(minutes=2)}
    clock.advance(timedelta(minutes=2))
    assert deliver_due(engine, transport, clock, SENDER, POLICY).sent == 3
    assert transport.sent == [r.message_id for r in _rows(engine)]  # in the order queued


def _case_email(engine, key: str, case_ref: str) -> None:
    """An email about the case `case_ref` (made if need be)."""
    with transaction(engine) as session:
        case = session.exec(select(Case).where(Case.ref == case_ref)).first()
        if case is None:
            case = Case(ref=case_ref, kind="escalation", iro_email="iro1@example.test",
                        opened_at=NOW)
            session.add(case)
            session.flush()
        email = OutgoingEmail(to=["tm1@example.test"], subject=key, text="hello")
        queue_email(session, email, sender=SENDER, purpose="test", dedupe_key=key, now=NOW,
                    case_id=case.id)


def test_an_email_the_server_puts_off_waits_alone_and_its_case_keeps_order(engine) -> None:
    _case_email(engine, "a1", "ESC-2026-0001")
    _case_email(engine, "b1", "ESC-2026-0002")
    _case_email(engine, "a2", "ESC-2026-0001")
    put_off = TemporaryFailure("452 4.2.2 mailbox full", this_message=True)
    transport = FlakyTransport([put_off])
    clock = FixedClock(NOW)
    report = deliver_due(engine, transport, clock, SENDER, POLICY)
    # a1 waits alone; b1 (another case) goes; a2 (to the same person) does not overtake a1.
    assert (report.sent, report.retrying, report.held_until) == (1, 1, None)
    assert {r.dedupe_key: r.status for r in _rows(engine)} == {
        "a1": "queued", "b1": "sent", "a2": "queued"}
    clock.advance(timedelta(minutes=1))
    assert deliver_due(engine, transport, clock, SENDER, POLICY).sent == 2
    sent = {r.message_id: r.dedupe_key for r in _rows(engine)}
    assert [sent[m] for m in transport.sent] == ["b1", "a1", "a2"]


def test_two_put_offs_in_a_row_are_taken_as_the_servers(engine) -> None:
    for key in ("k1", "k2", "k3"):
        _queue(engine, key)
    put_off = TemporaryFailure("451 4.3.0 try again later", this_message=True)
    transport = FlakyTransport([put_off, put_off])
    report = deliver_due(engine, transport, FixedClock(NOW), SENDER, POLICY)
    assert report.held_until is not None
    assert [r.attempts for r in _rows(engine)] == [1, 1, 0]


def test_permanent_failure_is_not_retried(engine) -> None:
    _queue(engine)
    transport = FlakyTransport([PermanentFailure("550 no such user")])
    clock = FixedClock(NOW)
    report = deliver_due(engine, transport, clock, SENDER, POLICY)
    assert report.failed == 1
    clock.advance(timedelta(days=1))
    deliver_due(engine, transport, clock, SENDER, POLICY)
    row = _rows(engine)[0]
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error
    assert row.refused == ["tm1@example.test"] and row.refused_at == NOW


def test_kept_for_its_lifetime_in_time_not_a_number_of_attempts(engine) -> None:
    _queue(engine)
    transport = FlakyTransport([TemporaryFailure("451")] * 1000)
    clock = FixedClock(NOW)
    while _rows(engine)[0].status == "queued":
        # The daemon's outbox job runs every minute; skip the minutes where nothing is due.
        deliver_due(engine, transport, clock, SENDER, POLICY)
        clock.set(max(clock.now() + timedelta(minutes=1), _rows(engine)[0].not_before))
    row = _rows(engine)[0]
    assert NOW + timedelta(days=5) <= row.refused_at <= NOW + timedelta(days=5, hours=1)
    assert row.status == "failed" and "not accepted within 5 days" in row.last_error
    # Tried about once an hour once the waits reached an hour: far more than 8 attempts,
    # far fewer than one a minute.
    assert 100 < row.attempts < 140


def test_an_operator_retries_now_and_requeues_what_was_given_up(engine) -> None:
    _queue(engine, "k1", to="nobody@example.test")
    _queue(engine, "k2")
    clock = FixedClock(NOW)
    refused = PermanentFailure("550 5.1.1 no such user")
    transport = FlakyTransport([refused, TemporaryFailure("421 busy")])
    report = deliver_due(engine, transport, clock, SENDER, POLICY)
    assert (report.failed, report.held_until) == (1, NOW + timedelta(minutes=1))
    # `mailagent outbox retry`: what waits is due now, whatever its backoff.
    assert retry_now(engine, None, NOW) == 1
    assert deliver_due(engine, transport, clock, SENDER, POLICY).sent == 1
    # `mailagent outbox requeue`: the address was put right; the email goes again, to the
    # recipients who did not get it, with a new lifetime.
    later = NOW + timedelta(hours=2)
    assert requeue(engine, None, later) == 1
    row = {r.dedupe_key: r for r in _rows(engine)}["k1"]
    assert (row.status, row.recipients, row.refused, row.refused_at, row.requeued_at) == (
        "queued", ["nobody@example.test"], [], None, later)
    clock.set(later)
    assert deliver_due(engine, transport, clock, SENDER, POLICY).sent == 1
    assert {r.dedupe_key: r.status for r in _rows(engine)} == {"k1": "sent", "k2": "sent"}
    assert requeue(engine, None, later) == 0  # nothing else was given up on


# -- against the real SMTP server and Dovecot ---------------------------------------------

CRASHER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from mailagent.store.delivery import deliver_due
    from mailagent.store.outbox import OutgoingEmail, Sender, queue_email
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
    assert report.failed == 1
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
    first = deliver_due(engine, transport, clock, SENDER,
                        RetryPolicy(first_wait=timedelta(seconds=1)))
    assert (first.sent, first.retrying, first.failed) == (0, 1, 0)
    assert tokens.invalidated == 1
    clock.advance(timedelta(seconds=1))
    assert deliver_due(engine, transport, clock, SENDER).sent == 1
    assert [a.accepted for a in xoauth2_smtp.attempts] == [False, True]
    assert len(mailboxes.wait_for_mail("tm1", 1)) == 1


# -- the operator's command: mailagent outbox ------------------------------------------------


def test_the_outbox_command_lists_retries_and_requeues(tmp_path: Path) -> None:
    import time_machine
    from typer.testing import CliRunner

    from mailagent.cli.main import app
    from tests.support import write_config

    config = write_config(tmp_path)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    _case_email(engine, "k1", "ESC-2026-0001")
    _queue(engine, "k2", to="nobody@example.test")
    transport = FlakyTransport([TemporaryFailure("452 4.2.2 mailbox full", this_message=True),
                                PermanentFailure("550 5.1.1 no such user")])
    deliver_due(engine, transport, FixedClock(NOW), SENDER, POLICY)
    runner = CliRunner()

    listed = runner.invoke(app, ["--config", str(config), "outbox"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split()[:6] == ["id", "case", "purpose", "status", "tries", "queued"]
    assert "ESC-2026-0001" in lines[1] and "queued" in lines[1] and "452 4.2.2" in lines[1]
    assert "failed" in lines[2] and "not delivered to nobody@example.test" in lines[2]

    assert runner.invoke(app, ["outbox", "retry", "--config", str(config)]).exit_code == 2
    with time_machine.travel(NOW, tick=False):  # the command's clock
        retried = runner.invoke(app, ["outbox", "retry", "1", "--config", str(config)])
        requeued = runner.invoke(app, ["outbox", "requeue", "--all", "--config", str(config)])
    assert retried.exit_code == 0 and retried.output.startswith("1 email(s) due now")
    assert requeued.exit_code == 0 and requeued.output.startswith("1 email(s) queued again")
    assert {r.status for r in _rows(engine)} == {"queued"}
    assert deliver_due(engine, FlakyTransport([]), FixedClock(NOW), SENDER, POLICY).sent == 2
    empty = runner.invoke(app, ["outbox", "list", "--config", str(config)])
    assert "the outbox is empty" in empty.output
    engine.dispose()
