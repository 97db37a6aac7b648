"""The long-running job: the mailbox watcher and the scheduler, in one process.

The watcher reads the mailbox, processes what arrived and sends what is queued, then waits
for mail: IMAP IDLE wakes it within a second of a new message; every backend is also read
every `poll_seconds` whatever the push said. It waits in one-second slices so that SIGTERM
is noticed at once; SIGTERM lets the message in hand finish, then the process exits
cleanly. A mailbox that cannot be reached is tried again after a backoff that doubles from
about a second up to five minutes, with jitter so a fleet does not reconnect in step.

An APScheduler 3 scheduler runs the sweep (reminders, escalations, follow-ups) every few
minutes, the outbox retries every minute, and any daily job (the summary) at its local time.
One lock serialises all work, so a sweep never races a message on the same case.

Only one instance may act on a mailbox: it holds a PostgreSQL advisory lock (checked every
minute, since the lock dies with its connection) or, with SQLite, a lock file. A second
instance exits with a message saying so, or waits if asked to.

What the daemon is doing is written to `daemon.json` in the data folder for `status`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from filelock import FileLock, Timeout

from mailagent.app import Agent, data_path
from mailagent.runners.pipeline import (
    SWEEP_INTERVAL,
    PassReport,
    deliver,
    judged_until,
    process_mailbox,
)
from mailagent.runners.purge import purge
from mailagent.runners.sweep import sweep
from mailagent.sources.base import SourceError

log = logging.getLogger(__name__)

OUTBOX_MINUTES = 1
WAIT_SLICE_SECONDS = 1.0  # how soon a stop request is noticed while waiting for mail
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0
LOCK_CHECK_SECONDS = 60.0
STATE_FILE = "daemon.json"


class AlreadyRunning(Exception):
    """Another instance holds the mailbox."""


class LostLock(Exception):
    """The instance lock was lost (the database connection holding it dropped)."""


@dataclass(frozen=True)
class DailyJob:
    """Something to run once a day at a local time in the council's timezone.

    It also runs once at start, to catch up a day missed while the agent was down, so it
    must do nothing when called again or too early (as `send_daily_summary` does).
    """

    name: str
    at: clock_time
    run: Callable[[Agent, datetime], object]


PURGE_AT = clock_time(2, 30)  # a quiet hour; also run at start, so a missed day catches up


def default_daily_jobs(agent: Agent) -> list[DailyJob]:
    """The retention purge at 02:30, and the daily summary at `[summary] send_at` unless
    it is switched off."""
    from mailagent.reports.summary import send_daily_summary, summary_settings

    jobs = [DailyJob("purge", PURGE_AT, lambda agent, now: purge(agent, now))]
    if summary_settings(agent).enabled:
        jobs.append(DailyJob("daily_summary", summary_settings(agent).send_at,
                             send_daily_summary))
    return jobs


def run_forever(
    agent: Agent,
    *,
    install_signals: bool = True,
    daily_jobs: Sequence[DailyJob] | None = None,
    lock_wait_seconds: float = 0.0,
) -> None:
    """Run until SIGTERM/SIGINT (or `agent.stopping` is set). `daily_jobs`: by default the
    daily summary."""
    if daily_jobs is None:
        daily_jobs = default_daily_jobs(agent)
    if install_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: agent.stopping.set())
    state = StateFile(data_path(agent.settings, STATE_FILE), agent.source.name)
    work = threading.Lock()
    with instance_lock(agent, wait_seconds=lock_wait_seconds) as lock:
        scheduler = _scheduler(agent, work, daily_jobs)
        scheduler.start()
        try:
            Watcher(agent, work, lock, state, daily_jobs).run()
        finally:
            state.update("stopping")
            scheduler.shutdown(wait=True)
            state.update("stopped")
    log.info("stopped cleanly")


def _scheduler(
    agent: Agent, work: threading.Lock, daily_jobs: Sequence[DailyJob]
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    scheduler.add_job(_locked(work, "sweep", lambda: sweep(agent, judged_until(agent))),
                      "interval", seconds=SWEEP_INTERVAL.total_seconds(), id="sweep", **common)
    scheduler.add_job(_locked(work, "outbox", lambda: deliver(agent)),
                      "interval", minutes=OUTBOX_MINUTES, id="outbox", **common)
    for job in daily_jobs:
        run = job.run  # bound now: the lambda must not see a later loop value
        scheduler.add_job(
            _locked(work, job.name, lambda run=run: run(agent, agent.clock.now())),
            "cron", hour=job.at.hour, minute=job.at.minute,
            timezone=agent.settings.calendar.timezone, id=job.name, **common,
        )
    return scheduler


def _locked(lock: threading.Lock, name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with lock:
            try:
                job()
            except Exception:
                log.exception("scheduled job %s failed", name)

    return run


class Watcher:
    """Read, process, send, wait; back off when the mailbox cannot be reached."""

    def __init__(
        self, agent: Agent, work: threading.Lock, lock: InstanceLock, state: StateFile,
        daily_jobs: Sequence[DailyJob] = (),
    ) -> None:
        self.agent, self.work, self.lock, self.state = agent, work, lock, state
        self.daily_jobs = daily_jobs
        self.poll = float(getattr(agent.settings.source, "poll_seconds", 5.0))
        self.failures = 0

    def run(self) -> None:
        caught_up = False
        while not self.agent.stopping.is_set():
            try:
                self.lock.check()
                self._one_pass()
                if not caught_up:
                    # Only now, with the mail that arrived meanwhile read (and judged by when
                    # it arrived), apply what fell due while the agent was down.
                    with self.work:
                        self._catch_up()
                    caught_up = True
                self.state.update("waiting for mail", heard=True)
                self._wait_for_mail()
            except LostLock:
                raise
            except SourceError as exc:
                self._back_off(f"mailbox unavailable ({exc})")
            except Exception as exc:  # a database outage, a bug: keep the process, say so
                log.exception("the watcher failed")
                self._back_off(f"{type(exc).__name__} in the watcher")

    def _catch_up(self) -> None:
        """Apply whatever fell due while the agent was down, once the waiting mail is read."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("sweep", lambda: sweep(self.agent, judged_until(self.agent)))]
        for job in self.daily_jobs:
            steps.append((job.name, lambda run=job.run: run(self.agent, self.agent.clock.now())))
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("catching up: %s failed; the scheduler will try again", name)
        deliver(self.agent)

    def _one_pass(self) -> None:
        self.state.update("reading the mailbox")
        with self.work:
            process_mailbox(self.agent, PassReport())
            if not self.agent.stopping.is_set():  # a stop request leaves sending to next time
                deliver(self.agent)
        if self.failures:
            log.info("mailbox reachable again after %s failed attempt(s)", self.failures)
        self.failures = 0

    def _wait_for_mail(self) -> None:
        deadline = time.monotonic() + self.poll
        while not self.agent.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.agent.source.wait_for_mail(min(WAIT_SLICE_SECONDS, remaining)):
                return

    def _back_off(self, why: str) -> None:
        self.failures += 1
        delay = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (self.failures - 1))
        delay *= random.uniform(0.5, 1.0)
        log.warning("%s; retrying in %.1f s", why, delay)
        self.state.update(f"{why}; retrying in {delay:.0f} s")
        self.agent.stopping.wait(delay)


# -- the instance lock ----------------------------------------------------------------------


class InstanceLock:
    """Proof that this process holds the mailbox; `check()` raises LostLock if it no longer
    does."""

    def __init__(self, connection: sa.Connection | None = None) -> None:
        self._connection = connection
        self._checked = time.monotonic()

    def check(self) -> None:
        if self._connection is None or time.monotonic() - self._checked < LOCK_CHECK_SECONDS:
            return
        try:
            self._connection.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError as exc:
            raise LostLock(
                "the database connection holding the instance lock dropped; exiting so that "
                "the service manager restarts the agent"
            ) from exc
        self._checked = time.monotonic()


@contextlib.contextmanager
def instance_lock(agent: Agent, *, wait_seconds: float = 0.0) -> Iterator[InstanceLock]:
    """Hold the mailbox for this process: a PostgreSQL advisory lock or a lock file.

    With `wait_seconds`, wait that long for another instance to let go before giving up.
    """
    if agent.engine.dialect.name == "postgresql":
        with _advisory_lock(agent, wait_seconds) as lock:
            yield lock
        return
    path = data_path(agent.settings, "mailagent.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    file_lock = FileLock(str(path))
    try:
        file_lock.acquire(timeout=wait_seconds)
    except Timeout as exc:
        raise AlreadyRunning(
            f"another mailagent is already running on this mailbox (lock file {path} is held)"
        ) from exc
    try:
        yield InstanceLock()
    finally:
        file_lock.release()


@contextlib.contextmanager
def _advisory_lock(agent: Agent, wait_seconds: float) -> Iterator[InstanceLock]:
    # crc32, not hash(): it must be the same number in every process.
    key = zlib.crc32(agent.source.name.encode()) & 0x7FFFFFFF
    deadline = time.monotonic() + wait_seconds
    with agent.engine.connect() as conn:
        # Autocommit: the lock belongs to the session, and a connection held for months must
        # not sit "idle in transaction".
        conn.execution_options(isolation_level="AUTOCOMMIT")
        while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            if time.monotonic() >= deadline or agent.stopping.wait(1.0):
                raise AlreadyRunning(
                    f"another mailagent is already running on this mailbox "
                    f"({agent.source.name}; PostgreSQL advisory lock {key} is held)"
                )
        try:
            yield InstanceLock(conn)
        finally:
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})


# -- what the daemon is doing, for `mailagent status` ---------------------------------------


class StateFile:
    """A small JSON file: pid, what the daemon is doing since when, when it last read the
    mailbox. Written on each change of activity (not on every wait), replaced atomically."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self._state: dict[str, object] = {
            "pid": os.getpid(), "source": source, "started_at": _now(),
            "doing": "starting", "since": _now(), "last_heard": None,
        }

    def update(self, doing: str, *, heard: bool = False) -> None:
        changed = doing != self._state["doing"]
        if changed:
            self._state.update(doing=doing, since=_now())
        if heard:
            self._state["last_heard"] = _now()
        if changed or heard:
            self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._state), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # the state file is a courtesy; never stop work for it
            log.debug("cannot write %s: %s", self.path, exc.strerror)


def describe_daemon(path: Path) -> list[str]:
    """Lines for `mailagent status`: whether the daemon runs and what it is doing."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["daemon:         not started here yet"]
    pid = int(state.get("pid", 0))
    running = state.get("doing") != "stopped" and _alive(pid)
    if not running:
        return [f"daemon:         not running (last: {state.get('doing')} at {state.get('since')})"]
    return [
        f"daemon:         running (pid {pid}, since {state.get('started_at')})",
        f"doing:          {state.get('doing')} (since {state.get('since')})",
        f"last read:      {state.get('last_heard') or 'not yet'}",
    ]


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
