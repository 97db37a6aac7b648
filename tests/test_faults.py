"""Faults on a bad day, against the real servers: each is reported in one line, waited out
with backoff (no tight loop), the long-running job stays up, and nothing is lost.

* SQLite locked by another program, and PostgreSQL stopped, for "ten minutes": the agent's
  waits (normally from a second, doubling, up to five minutes) are compressed 1:200, so ten
  minutes are three seconds here, and SQLite's busy timeout is a tenth of a second.
  PostgreSQL runs as a private cluster of its own for this, so that stopping it touches no
  other test.
* Disk full while storing a message: SQLite's `max_page_count` makes the database file unable
  to grow, which SQLite reports exactly as a full disk ("database or disk is full").
* Dovecot restarted in the middle of a FETCH of a backlog, and under the daemon's IDLE.
* The mail server answering 4xx, 5xx to our sender, or not at all, for a day of simulated
  time; everything is delivered after, in order.
* The command line with the database down, or a wrong IMAP password: one line, no traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from mailagent.app import Agent, build_agent
from mailagent.cli.main import app
from mailagent.clock import FixedClock
from mailagent.runners import outages
from mailagent.runners.daemon import serve
from mailagent.runners.pipeline import deliver, run_once
from mailagent.store import db
from mailagent.store.models import Inbound, Outbound
from tests.running import daemon_running, doing, wait_until
from tests.servers import AnyPortController
from tests.support import (
    ESCALATION_BODY,
    PROJECT_DIR,
    drop,
    email_bytes,
    imap_source,
    london,
    make_agent,
    make_settings,
    write_config,
)

NOW = london(2026, 12, 14, 10)
TEN_MINUTES = 3.0  # seconds, at 1:200


@pytest.fixture
def compressed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The agent's waits at 1:200: 5 ms first, doubling up to 1.5 s (five minutes)."""
    monkeypatch.setattr(outages, "FIRST_BACKOFF_SECONDS", 0.005)
    monkeypatch.setattr(outages, "MAX_BACKOFF_SECONDS", 1.5)
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 0.1)


def _escalation(n: int) -> bytes:
    body = ESCALATION_BODY.replace("Child: 123456", f"Child: {300000 + n}")
    return email_bytes(sender="Irene Reed <iro1@example.test>",
                       subject=f"[ESCALATE] Placement plan not started ({n})", body=body)


def _count(agent: Agent, model, **where: object) -> int:  # type: ignore[no-untyped-def]
    with Session(agent.engine) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.exec(query).one()


def _outage_lines(caplog, kind: str) -> list[logging.LogRecord]:  # type: ignore[no-untyped-def]
    return [r for r in caplog.records
            if r.levelno >= logging.WARNING and f"{kind} unavailable" in r.getMessage()]


def _failures_in_a_row(caplog, kind: str) -> int:  # type: ignore[no-untyped-def]
    counted = [r for r in caplog.records if r.levelno == logging.DEBUG
               and f"{kind} unavailable" in r.getMessage()]
    return len(counted)


def _assert_told_once_and_waited(caplog, kind: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    (line,) = _outage_lines(caplog, kind)  # one line for the whole outage
    text = line.getMessage()
    for word in (*words, "retrying in", "nothing is lost"):
        assert word in text, text
    assert line.exc_info is None  # the traceback only at DEBUG
    # No tight loop: backing off from 5 ms to 1.5 s over 3 s is a dozen tries, not thousands.
    assert 2 <= _failures_in_a_row(caplog, kind) <= 20
    assert any(r.levelno == logging.INFO and f"{kind}: available again" in r.getMessage()
               for r in caplog.records)


# -- the database --------------------------------------------------------------------------


def test_sqlite_locked_for_ten_minutes(compressed, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG, logger="mailagent")
    agent, _ = make_agent(tmp_path, NOW)
    with daemon_running(agent) as daemon:
        holder = sqlite3.connect(tmp_path / "test.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # a backup tool, say, holding the write lock
        for n in (1, 2):
            drop(agent, f"{n}.eml", _escalation(n))
        wait_until(lambda: "database unavailable" in (doing(agent) or ""), 10, "the outage")
        time.sleep(TEN_MINUTES)
        assert daemon.is_alive() and _count(agent, Inbound) == 0
        holder.execute("ROLLBACK")
        holder.close()
        wait_until(lambda: _count(agent, Inbound, status="processed") == 2, 10, "the backlog")
    _assert_told_once_and_waited(caplog, "database", "database is locked", "test.sqlite")
    assert _count(agent, Outbound, purpose="acknowledgment") == 2  # each once


def test_disk_full_while_storing_a_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    agent, _ = make_agent(tmp_path, NOW)
    try:
        run_once(agent)  # the schema and the mailbox's state are written
        with agent.engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
        full = {"on": True}

        def cannot_grow(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            limit = pages + 1 if full["on"] else 2**31 - 1
            dbapi_connection.execute(f"PRAGMA max_page_count = {limit}")

        sa.event.listen(agent.engine, "connect", cannot_grow)
        agent.engine.dispose()
        big = _escalation(1).replace(b"Resolution sought:", b"Note: " + b"x" * 200_000
                                     + b"\nResolution sought:")
        drop(agent, "big.eml", big)
        with pytest.raises(sa.exc.OperationalError, match="database or disk is full"):
            run_once(agent)
        assert _count(agent, Inbound) == 0  # nothing half-stored...
        assert len(list((tmp_path / "mailbox" / "new").iterdir())) == 1  # ...and it waits
        full["on"] = False
        agent.engine.dispose()
        assert run_once(agent).processed == 1
        assert _count(agent, Outbound, purpose="acknowledgment") == 1
    finally:
        agent.close()


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, dict[str, str]]]:
    """A PostgreSQL cluster of this test's own (stopping it must touch no other test):
    its URL and the environment for scripts/postgres.sh."""
    folder = Path(tempfile.mkdtemp(prefix="mailagent-faults-", dir="/var/tmp"))
    folder.chmod(0o755)  # the server runs as the postgres user when we are root
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MAILAGENT_TEST_POSTGRES_URL"}
    env.update(MAILAGENT_POSTGRES_DIR=str(folder / "pg"), MAILAGENT_POSTGRES_PORT=str(port))
    try:
        _postgres("start", env)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/mailagent_test", env
    finally:
        _postgres("stop", env)
        shutil.rmtree(folder, ignore_errors=True)


def _postgres(command: str, env: dict[str, str]) -> None:
    subprocess.run(["bash", str(PROJECT_DIR / "scripts" / "postgres.sh"), command], env=env,
                   stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=300)


def _free_port() -> int:
    """A TCP port on loopback that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.postgres
def test_postgresql_down_at_start_and_stopped_for_ten_minutes(  # type: ignore[no-untyped-def]
    compressed, private_postgres, tmp_path, caplog,
) -> None:
    caplog.set_level(logging.DEBUG, logger="mailagent")
    url, env = private_postgres
    settings = make_settings(tmp_path, database_url=url)
    _postgres("stop", env)  # down when the service starts
    agents: list[Agent] = []

    def build() -> Agent:
        agents.append(build_agent(settings, clock=FixedClock(NOW)))
        return agents[-1]

    stopping = threading.Event()
    service = threading.Thread(target=serve, args=(build,), daemon=True,
                               kwargs={"database": db.where(url), "stopping": stopping})
    service.start()
    try:
        wait_until(lambda: any("not started yet" in r.getMessage() for r in caplog.records),
                   10, "the service to wait for the database")
        _postgres("start", env)
        wait_until(lambda: agents and doing(agents[0]) == "waiting for mail", 30,
                   "the service to start once the database is up")
        agent = agents[0]
        drop(agent, "1.eml", _escalation(1))
        wait_until(lambda: _count(agent, Inbound) == 1, 10, "the first message")
        caplog.clear()

        _postgres("stop", env)  # the lock's session and every pooled connection die
        drop(agent, "2.eml", _escalation(2))
        drop(agent, "3.eml", _escalation(3))
        wait_until(lambda: "database unavailable" in (doing(agent) or ""), 10, "the outage")
        time.sleep(TEN_MINUTES)
        assert service.is_alive()
        _postgres("start", env)
        wait_until(lambda: _count(agent, Inbound, status="processed") == 3, 20, "the backlog")
    finally:
        stopping.set()
        service.join(15)
    assert not service.is_alive()
    _assert_told_once_and_waited(caplog, "database", "127.0.0.1", "mailagent_test")
    assert any("instance lock taken again" in r.getMessage() for r in caplog.records)
    engine = db.create_db_engine(url)
    with Session(engine) as session:
        acks = session.exec(select(func.count()).select_from(Outbound)
                            .where(Outbound.purpose == "acknowledgment")).one()
    engine.dispose()
    assert acks == 3


# -- the mailbox ---------------------------------------------------------------------------


@pytest.mark.servers
def test_dovecot_restarted_during_a_fetch_is_back_within_ten_seconds(  # type: ignore[no-untyped-def]
    mailboxes, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    source = {**imap_source(mailboxes), "poll_seconds": 60}
    agent = build_agent(make_settings(tmp_path, source=source), clock=FixedClock(NOW))
    count = 60
    with daemon_running(agent):
        mailboxes.append_many("agent", [_escalation(n) for n in range(count)])
        wait_until(lambda: _count(agent, Inbound) >= 10, 30, "the backlog to be under way")
        mailboxes.restart_dovecot()  # mid-FETCH: the batch in hand is cut off
        seen = _count(agent, Inbound)
        took = wait_until(lambda: _count(agent, Inbound) > seen, 30, "reading again")
        wait_until(lambda: _count(agent, Inbound, status="processed") == count, 120,
                   "the whole backlog")
        wait_until(lambda: mailboxes.fetch_all("agent") == [], 10, "the inbox to be empty")
    assert took < 10.0, f"back {took:.1f} s after Dovecot was"
    assert len(mailboxes.fetch_all("agent", "Processed")) == count
    assert _count(agent, Inbound) == count
    assert _count(agent, Outbound, purpose="acknowledgment") == count  # nothing twice


@pytest.mark.servers
def test_dovecot_restarted_during_idle_is_back_within_ten_seconds(  # type: ignore[no-untyped-def]
    mailboxes, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    source = {**imap_source(mailboxes), "poll_seconds": 300}  # only IDLE wakes it in time
    agent = build_agent(make_settings(tmp_path, source=source), clock=FixedClock(NOW))
    with daemon_running(agent):
        wait_until(lambda: doing(agent) == "waiting for mail", 30, "the daemon to IDLE")
        time.sleep(1.0)  # in IDLE, not between the pass and the IDLE command
        mailboxes.restart_dovecot()  # the IDLE connection drops under it
        mailboxes.append_many("agent", [_escalation(1)])
        took = wait_until(lambda: _count(agent, Inbound, status="processed") == 1, 60,
                          "the message that arrived after the restart")
    assert took < 10.0, f"read {took:.1f} s after Dovecot was back"
    assert _count(agent, Outbound, purpose="acknowledgment") == 1


# -- the mail server -----------------------------------------------------------------------


class BadDay:
    """An aiosmtpd handler that takes mail, or (by `mode`) puts off every recipient with
    451, refuses our sender with 550 (a relay's policy: about us, not the message)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.accepted: list[bytes] = []
        self.tries = 0

    async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        self.tries += 1
        if self.mode == "5xx":
            return "550 5.7.1 Sender address rejected: not permitted to relay"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if self.mode == "4xx":
            return "451 4.3.0 Temporary lookup failure; try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.accepted.append(envelope.original_content or b"")
        return "250 2.0.0 OK"


@pytest.mark.parametrize("mode", ["4xx", "5xx", "unreachable"])
def test_the_mail_server_down_for_a_day_then_everything_delivered_in_order(  # type: ignore[no-untyped-def]
    tmp_path, mode: str
) -> None:
    handler = BadDay()
    controller = AnyPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    port = controller.port
    transport = {"kind": "smtp", "host": "127.0.0.1", "port": port, "security": "none"}
    clock = FixedClock(NOW)
    agent = build_agent(make_settings(tmp_path, transport=transport), clock=clock)
    try:
        handler.mode = mode
        if mode == "unreachable":
            controller.stop()
        for n in range(3):  # three escalations: each acknowledged, each sent to its manager
            drop(agent, f"{n}.eml", _escalation(n))
        run_once(agent)
        queued = [row.message_id for row in _rows(agent)]
        assert len(queued) >= 6
        day_end = NOW + timedelta(days=1)
        while clock.now() < day_end:  # the daemon's outbox job, each minute anything is due
            deliver(agent)
            clock.set(max(clock.now() + timedelta(minutes=1), _next_due(agent)))
        assert {row.status for row in _rows(agent)} == {"queued"}  # nothing given up
        tries = handler.tries
        if mode == "unreachable":
            controller = AnyPortController(handler, hostname="127.0.0.1", port=port)
            controller.start()
        handler.mode = "ok"
        clock.set(_next_due(agent))
        report = deliver(agent)
        assert report.sent == len(queued) and report.failed == 0
        sent_ids = [_message_id(raw) for raw in handler.accepted]
        assert sent_ids == queued  # everything, once, in the order it was queued
        if mode != "unreachable":
            assert 10 <= tries <= 80  # backed off to an hour: about 30 tries a day
        assert _notices(agent) == []  # the IRO is not told of a server-wide outage
    finally:
        agent.close()
        controller.stop()


def _rows(agent: Agent) -> list[Outbound]:
    with Session(agent.engine) as session:
        return list(session.exec(select(Outbound).order_by(Outbound.id)))


def _next_due(agent: Agent):  # type: ignore[no-untyped-def]
    return min(row.not_before for row in _rows(agent) if row.status == "queued")


def _notices(agent: Agent) -> list[str]:
    return [row.purpose for row in _rows(agent) if row.purpose.startswith("delivery_")]


def _message_id(raw: bytes) -> str:
    for line in raw.split(b"\r\n\r\n", 1)[0].splitlines():
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Message-ID")


# -- the command line ----------------------------------------------------------------------


def test_commands_with_the_database_down_say_so_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path)
    text = config.read_text().replace(f"sqlite:///{tmp_path / 'db.sqlite'}",
                                      "postgresql+psycopg://mailagent@127.0.0.1:9/mailagent")
    config.write_text(text)
    for command in (["status"], ["db", "upgrade"], ["run", "--once"], ["outbox"]):
        result = CliRunner().invoke(app, ["--config", str(config), *command])
        assert result.exit_code == 4, (command, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert lines[0].startswith("mailagent: the database is unavailable "
                                   "(postgresql+psycopg://mailagent@127.0.0.1:9/mailagent: ")
        assert "Connection refused" in lines[0] and "try again once it is back" in lines[0]


def test_the_traceback_is_there_at_debug(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path)
    text = config.read_text().replace(f"sqlite:///{tmp_path / 'db.sqlite'}",
                                      "postgresql+psycopg://mailagent@127.0.0.1:9/mailagent")
    config.write_text(text + '\n[logging]\nlevel = "DEBUG"\n')
    result = subprocess.run(
        [str(Path(sys.executable).with_name("mailagent")),
         "--config", str(config), "status"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    assert "Traceback" in result.stderr and "OperationalError" in result.stderr
    assert result.stderr.rstrip().endswith("try again once it is back")


@pytest.mark.servers
def test_a_wrong_imap_password_says_so_in_one_line(mailboxes, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", "not the password")
    config = write_config(tmp_path, source=imap_source(mailboxes))
    assert CliRunner().invoke(app, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    result = CliRunner().invoke(app, ["--config", str(config), "run", "--once"])
    assert result.exit_code == 4
    assert result.output.strip() == (
        f"mailagent: the mailbox is unavailable (IMAP agent@example.test@{mailboxes.imap_host}:"
        f"{mailboxes.imap_port}: IMAP: [AUTHENTICATIONFAILED] Authentication failed.); the "
        "mail waits on the server: try again once it is back")
