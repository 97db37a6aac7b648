"""The long-running job against the real Dovecot: push, outages, re-syncs, one instance, SIGTERM.

The daemon runs in a thread (or, for signals and the command line, as `mailagent run` in a
subprocess) with a poll interval of 60 s, so anything handled within a few seconds was
handled because IMAP IDLE said so, or because the daemon reconnected by itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from datetime import time as dt_time
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from mailagent.app import Agent, build_agent
from mailagent.clock import FixedClock
from mailagent.config import load_settings
from mailagent.runners.daemon import (
    DailyJob,
    Watcher,
    _scheduler,
    default_daily_jobs,
    run_forever,
)
from mailagent.runners.instance import AlreadyRunning, InstanceLock, instance_lock
from mailagent.runners.outages import Outages
from mailagent.runners.pipeline import run_once
from mailagent.runners.state import StateFile, describe_daemon
from mailagent.store.db import create_db_engine
from mailagent.store.models import Inbound, Outbound
from tests.running import daemon_running, doing, wait_until
from tests.support import (
    ESCALATION_BODY,
    PROJECT_DIR,
    arrive,
    email_bytes,
    imap_source,
    london,
    make_agent,
    make_settings,
    write_config,
)

POLL_SECONDS = 60  # far longer than any wait below: a quick result is never a poll's


def _escalation(n: int) -> bytes:
    """An IRO's escalation about child n (each one opens its own case)."""
    body = ESCALATION_BODY.replace("Child: 123456", f"Child: {200000 + n}")
    return email_bytes(sender="Irene Reed <iro1@example.test>",
                       subject=f"[ESCALATE] Placement plan not started ({n})", body=body)


def _agent(mailboxes, tmp_path: Path, monkeypatch) -> Agent:
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    source = {**imap_source(mailboxes), "poll_seconds": POLL_SECONDS}
    settings = make_settings(tmp_path, source=source)  # mail is "sent" as files
    return build_agent(settings, clock=FixedClock(london(2026, 12, 18, 10)))


def _processed(agent: Agent) -> int:
    with Session(agent.engine) as session:
        return session.exec(
            select(func.count()).select_from(Inbound).where(Inbound.status == "processed")
        ).one()


def _acknowledgments(agent: Agent) -> int:
    with Session(agent.engine) as session:
        return session.exec(
            select(func.count()).select_from(Outbound).where(Outbound.purpose == "acknowledgment")
        ).one()


def _inbound_rows(agent: Agent) -> int:
    with Session(agent.engine) as session:
        return session.exec(select(func.count()).select_from(Inbound)).one()


# -- IMAP IDLE ---------------------------------------------------------------------------


@pytest.mark.servers
def test_mail_appended_while_idling_is_processed_without_waiting_for_a_poll(
    mailboxes, tmp_path, monkeypatch
) -> None:
    agent = _agent(mailboxes, tmp_path, monkeypatch)
    with daemon_running(agent):
        time.sleep(0.2)  # let the daemon enter IDLE
        arrive(mailboxes, agent, _escalation(1))
        # Dovecot tells an idling client after ~0.5 s; the next poll is POLL_SECONDS away, so
        # a result well before it came from IDLE. (How fast is bench/'s P1, not a test's.)
        wait_until(lambda: _processed(agent) == 1, POLL_SECONDS / 2,
                   "the message to be processed before any poll")
        wait_until(lambda: len(mailboxes.fetch_all("agent", "Processed")) == 1, 3, "filing")
    assert mailboxes.fetch_all("agent") == []
    assert _acknowledgments(agent) == 1


@pytest.mark.servers
def test_dovecot_restart_while_idling_loses_nothing_and_the_daemon_is_back_within_10_s(
    mailboxes, tmp_path, monkeypatch
) -> None:
    agent = _agent(mailboxes, tmp_path, monkeypatch)
    with daemon_running(agent):
        time.sleep(0.2)
        # The first message arrives just before the restart: it may be cut off anywhere in
        # its handling (read, recorded, answered, not yet filed) or not yet seen at all.
        arrive(mailboxes, agent, _escalation(1))
        mailboxes.restart_dovecot()
        restarted = time.monotonic()
        arrive(mailboxes, agent, _escalation(2))
        wait_until(lambda: _processed(agent) == 2, 10, "both messages to be processed")
        wait_until(lambda: mailboxes.fetch_all("agent") == [], 10, "the inbox to be empty")
        back = time.monotonic() - restarted
        assert back < 10.0, f"back after {back:.1f} s"
    assert len(mailboxes.fetch_all("agent", "Processed")) == 2
    assert _inbound_rows(agent) == 2
    assert _acknowledgments(agent) == 2  # one each: nothing answered twice


@pytest.mark.servers
def test_uidvalidity_change_resyncs_without_duplicates(
    mailboxes, tmp_path, monkeypatch, caplog
) -> None:
    agent = _agent(mailboxes, tmp_path, monkeypatch)
    first = _escalation(1)
    with daemon_running(agent):
        arrive(mailboxes, agent, first)
        wait_until(lambda: _processed(agent) == 1, 10, "the first message")
        wait_until(lambda: mailboxes.fetch_all("agent") == [], 10, "the first to be filed")
        # The folder is rebuilt (a restore from backup, a migration): new UIDVALIDITY, and
        # the first message is back in the inbox beside a new one.
        caplog.clear()
        mailboxes.bump_uidvalidity("agent")
        arrive(mailboxes, agent, first)
        arrive(mailboxes, agent, _escalation(2))
        wait_until(lambda: _processed(agent) == 2, 10, "the new message")
        wait_until(lambda: mailboxes.fetch_all("agent") == [], 10, "the inbox to be empty")
    assert "UIDVALIDITY changed" in caplog.text
    assert _inbound_rows(agent) == 2  # the restored copy was recognised, not recorded again
    assert _acknowledgments(agent) == 2  # and not answered again
    assert len(mailboxes.fetch_all("agent", "Processed")) == 3  # the copy was filed too


# -- the scheduler's daily jobs -----------------------------------------------------------


def test_the_purge_and_the_daily_summary_are_scheduled_at_their_local_times(tmp_path) -> None:
    agent = build_agent(make_settings(tmp_path))
    try:
        purge, job = default_daily_jobs(agent)
        assert (purge.name, purge.at) == ("purge", dt_time(2, 30))
        assert (job.name, job.at) == ("daily_summary", dt_time(8, 0))
        watcher = Watcher(agent, threading.Lock(), InstanceLock(), StateFile(tmp_path / "s", ""),
                          Outages())
        scheduled = _scheduler(agent, watcher, [job]).get_job("daily_summary")
        assert str(scheduled.trigger) == "cron[hour='8', minute='0']"
        assert str(scheduled.trigger.timezone) == "Europe/London"
    finally:
        agent.close()


def test_daily_jobs_also_run_at_start_to_catch_up(tmp_path) -> None:
    agent, _ = make_agent(tmp_path, london(2026, 12, 18, 10))
    ran: list[datetime] = []
    job = DailyJob("catch_me", dt_time(8, 0), lambda _agent, now: ran.append(now))
    thread = threading.Thread(target=run_forever, args=(agent,),
                              kwargs={"install_signals": False, "daily_jobs": [job]})
    thread.start()
    try:
        wait_until(lambda: doing(agent) == "waiting for mail", 10, "the daemon to idle")
    finally:
        agent.stopping.set()
        thread.join(10)
        agent.close()
    assert ran == [london(2026, 12, 18, 10)]


# -- one instance per mailbox -------------------------------------------------------------


@pytest.mark.servers
def test_a_second_instance_with_the_same_lock_file_is_refused(
    mailboxes, tmp_path, monkeypatch
) -> None:
    first = _agent(mailboxes, tmp_path, monkeypatch)
    second = _agent(mailboxes, tmp_path, monkeypatch)
    try:
        with daemon_running(first), pytest.raises(AlreadyRunning, match="already running"):
            run_forever(second, install_signals=False)
    finally:
        second.close()


@pytest.mark.postgres
def test_a_second_instance_on_postgresql_is_refused_or_waits(postgres_db_url, tmp_path) -> None:
    # Two hosts, one database, one mailbox: the advisory lock is what keeps them apart.
    box = {"kind": "maildir", "path": str(tmp_path / "box")}
    first = build_agent(make_settings(tmp_path / "a", database_url=postgres_db_url, source=box))
    second = build_agent(make_settings(tmp_path / "b", database_url=postgres_db_url, source=box))
    try:
        with (
            instance_lock(first),
            pytest.raises(AlreadyRunning, match="advisory lock"),
            instance_lock(second),
        ):
            pass
        # Asked to wait, the second one gets the lock once the first lets go.
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with instance_lock(first):
                held.set()
                release.wait(5)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(5)
        threading.Timer(0.5, release.set).start()
        started = time.monotonic()
        with instance_lock(second, wait_seconds=5):
            waited = time.monotonic() - started
        holder.join()
        assert 0.4 < waited < 5
    finally:
        first.close()
        second.close()


# -- the command line: SIGTERM, a second instance, status ---------------------------------


def _config(tmp_path: Path, mailboxes) -> Path:
    source = {**imap_source(mailboxes), "poll_seconds": POLL_SECONDS}
    return write_config(tmp_path, source=source)


def _mailagent(*args: str) -> list[str]:
    return [sys.executable, "-c", "from mailagent.cli.main import main; main()", *args]


@pytest.mark.servers
def test_sigterm_finishes_the_message_in_hand_and_exits_cleanly(
    mailboxes, tmp_path, monkeypatch
) -> None:
    config = _config(tmp_path, mailboxes)
    env = {**os.environ, "MAILAGENT_TEST_IMAP_PASSWORD": mailboxes.password,
           "PYTHONPATH": str(PROJECT_DIR)}
    daemon = subprocess.Popen(_mailagent("run", "--config", str(config)), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        state = tmp_path / "daemon.json"
        wait_until(lambda: state.exists() and "waiting for mail" in state.read_text(), 30,
                    "the daemon to idle")
        # A second instance on the same mailbox is refused, saying why; and `status` says
        # what the running one is doing (both at once: each takes a second or two to start).
        second, status = (
            subprocess.Popen(_mailagent(*args, "--config", str(config)), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for args in (("run",), ("status",))
        )
        second_err = second.communicate(timeout=60)[1]
        status_out = status.communicate(timeout=60)[0]
        assert second.returncode == 3
        assert "already running on this mailbox" in second_err
        assert "daemon:         running" in status_out, status_out
        assert "doing:          waiting for mail" in status_out

        count = 20
        mailboxes.append_many("agent", [_escalation(n) for n in range(count)])
        processed = mailboxes.maildir_root / "agent@example.test" / ".Processed"
        wait_until(lambda: processed.exists() and any(
            any((processed / sub).iterdir()) for sub in ("cur", "new") if (processed / sub).exists()
        ), 10, "the first message to be filed")
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=15)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
    assert daemon.returncode == 0, stderr
    assert "stopped cleanly" in stderr

    # Whatever it got to, it finished: every message recorded was handled and filed, every
    # message not handled is still in the inbox, untouched.
    filed = len(mailboxes.fetch_all("agent", "Processed"))
    waiting = len(mailboxes.fetch_all("agent"))
    assert filed + waiting == count
    print(f"SIGTERM came after {filed} of {count} messages")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with Session(engine) as session:
        statuses = session.exec(select(Inbound.status)).all()
    assert statuses == ["processed"] * filed

    assert describe_daemon(tmp_path / "daemon.json")[0].startswith("daemon:         not running")

    # The next run takes up the rest, each message once.
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    agent = build_agent(load_settings(config))
    try:
        run_once(agent)
        assert len(mailboxes.fetch_all("agent", "Processed")) == count
        assert _inbound_rows(agent) == count
        assert _acknowledgments(agent) == count
    finally:
        agent.close()
        engine.dispose()
