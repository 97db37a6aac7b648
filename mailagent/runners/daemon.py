"""The long-running job: the mailbox watcher and the scheduler, in one process.

The watcher reads the mailbox, processes what arrived and sends what is queued, then waits
for mail: IMAP IDLE wakes it within a second of a new message; every backend is also read
every `poll_seconds` whatever the push said. It waits in one-second slices so that SIGTERM
is noticed at once; SIGTERM lets the message in hand finish, then the process exits
cleanly. At start it reads the mail that waited while it was down before it applies what
fell due meanwhile.

An APScheduler 3 scheduler runs the sweep (reminders, escalations, follow-ups) every few
minutes, the outbox every minute, and any daily job (the summary) at its local time.
One lock serialises all work, so a sweep never races a message on the same case; the sweep
takes it one due case at a time, so mail waits for one case, never for the whole sweep.

The process outlives outages: a database or mailbox that cannot be reached (at start, or
later: PostgreSQL restarted, SQLite locked by another program, a disk full, the mail server
down, a password refused) is reported in one line and waited out with backoff (`outages`);
nothing is lost meanwhile, because mail waits on the server and queued email in the outbox.
Only one instance acts on a mailbox (`instance`): a second one exits with status 3.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock_time

from apscheduler.schedulers.background import BackgroundScheduler

from mailagent.app import Agent, data_path
from mailagent.runners.instance import AlreadyRunning, InstanceLock, take_instance_lock
from mailagent.runners.outages import Outages, backoff, fault, retrying, wait_out
from mailagent.runners.pipeline import (
    SWEEP_INTERVAL,
    PassReport,
    deliver,
    judged_until,
    process_mailbox,
)
from mailagent.runners.purge import purge
from mailagent.runners.state import STATE_FILE, StateFile
from mailagent.runners.sweep import sweep
from mailagent.store.db import where

log = logging.getLogger(__name__)

OUTBOX_MINUTES = 1
WAIT_SLICE_SECONDS = 1.0  # how soon a stop request is noticed while waiting for mail


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


def stop_on_signals(stopping: threading.Event) -> None:
    """SIGTERM (systemd's stop) and SIGINT set `stopping`: the work in hand finishes."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())


def serve(
    build: Callable[[], Agent], *, database: str, lock_wait_seconds: float = 0.0,
    stopping: threading.Event | None = None,
) -> None:
    """The service (`mailagent run`): build the agent, waiting out a database that is down
    at start (the schema is brought up to date at each start), then `run_forever`. SIGTERM
    stops it at any point, cleanly (or `stopping`, when given, instead of signals)."""
    if stopping is None:
        stopping = threading.Event()
        stop_on_signals(stopping)
    agent = wait_out(build, stopping=stopping, outages=Outages(), database=database,
                     mailbox="(not opened yet)", doing="not started yet")
    if agent is None:
        log.info("stopped before starting")
        return
    agent.stopping = stopping
    try:
        run_forever(agent, install_signals=False, lock_wait_seconds=lock_wait_seconds)
    finally:
        agent.close()


def run_forever(
    agent: Agent,
    *,
    install_signals: bool = True,
    daily_jobs: Sequence[DailyJob] | None = None,
    lock_wait_seconds: float = 0.0,
) -> None:
    """Run until SIGTERM/SIGINT (or `agent.stopping` is set). `daily_jobs`: by default the
    daily summary. Raises AlreadyRunning if another instance holds (or takes) the mailbox."""
    if daily_jobs is None:
        daily_jobs = default_daily_jobs(agent)
    if install_signals:
        stop_on_signals(agent.stopping)
    state = StateFile(data_path(agent.settings, STATE_FILE), agent.source.name)
    outages = Outages()
    lock = wait_out(lambda: take_instance_lock(agent, wait_seconds=lock_wait_seconds),
                    stopping=agent.stopping, outages=outages, database=where(agent.engine),
                    mailbox=agent.source.name, doing="not started yet", state=state.update)
    if lock is None:  # asked to stop while waiting for the database
        state.update("stopped")
        return
    work = threading.Lock()
    watcher = Watcher(agent, work, lock, state, outages, daily_jobs)
    scheduler = _scheduler(agent, watcher, daily_jobs)
    scheduler.start()
    try:
        watcher.run()
    finally:
        state.update("stopping")
        scheduler.shutdown(wait=True)
        lock.release()
        state.update("stopped")
    if watcher.taken_over is not None:
        raise watcher.taken_over
    log.info("stopped cleanly")


def _scheduler(
    agent: Agent, watcher: Watcher, daily_jobs: Sequence[DailyJob]
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    # The sweep takes the work lock for one case at a time: mail is not held up while it runs.
    sweeping = watcher.job("sweep", lambda: sweep(agent, judged_until(agent), lock=watcher.work),
                           locked=False)
    scheduler.add_job(sweeping,
                      "interval", seconds=SWEEP_INTERVAL.total_seconds(), id="sweep", **common)
    scheduler.add_job(watcher.job("outbox", lambda: deliver(agent)),
                      "interval", minutes=OUTBOX_MINUTES, id="outbox", **common)
    for daily in daily_jobs:
        run = daily.run  # bound now: the lambda must not see a later loop value
        scheduler.add_job(
            watcher.job(daily.name, lambda run=run: run(agent, agent.clock.now())),
            "cron", hour=daily.at.hour, minute=daily.at.minute,
            timezone=agent.settings.calendar.timezone, id=daily.name, **common,
        )
    return scheduler


class Watcher:
    """Read, process, send, wait; back off while the database or the mailbox is down."""

    def __init__(
        self, agent: Agent, work: threading.Lock, lock: InstanceLock, state: StateFile,
        outages: Outages, daily_jobs: Sequence[DailyJob] = (),
    ) -> None:
        self.agent, self.work, self.lock, self.state = agent, work, lock, state
        self.outages, self.daily_jobs = outages, daily_jobs
        self.poll = float(getattr(agent.settings.source, "poll_seconds", 5.0))
        self.failures = 0
        self.taken_over: AlreadyRunning | None = None

    def run(self) -> None:
        caught_up = False
        while not self.agent.stopping.is_set():
            try:
                self._one_pass()
                if not caught_up:
                    # Only now, with the mail that arrived meanwhile read (and judged by when
                    # it arrived), apply what fell due while the agent was down.
                    with self.work:
                        self._catch_up()
                    caught_up = True
                self.state.update("waiting for mail", heard=True)
                self._wait_for_mail()
            except AlreadyRunning as exc:
                self._stop_for(exc)
            except Exception as exc:  # an outage, or a fault of ours: keep the process
                self._back_off(exc)

    def job(self, name: str, work: Callable[[], object], *,
            locked: bool = True) -> Callable[[], None]:
        """A scheduled job: under the work lock (unless it takes it itself, `locked=False`),
        holding the mailbox, outages reported once."""

        def run() -> None:
            with self.work if locked else contextlib.nullcontext():
                try:
                    self.lock.check()
                    work()
                except AlreadyRunning as exc:
                    self._stop_for(exc)
                except Exception as exc:
                    kind, what = self._fault(exc)
                    self.outages.failed(kind, f"scheduled job {name}: {what}; it runs again "
                                              "at its next turn", exc)
                else:
                    self.outages.recovered("database")

        return run

    def _catch_up(self) -> None:
        """Apply whatever fell due while the agent was down, once the waiting mail is read."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("sweep", lambda: sweep(self.agent, judged_until(self.agent)))]
        for daily in self.daily_jobs:
            steps.append((daily.name,
                          lambda run=daily.run: run(self.agent, self.agent.clock.now())))
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("catching up: %s failed; the scheduler will try again", name)
        deliver(self.agent)

    def _one_pass(self) -> None:
        self.state.update("reading the mailbox")
        with self.work:
            self.lock.check()  # before any work: the mailbox is still ours
            process_mailbox(self.agent, PassReport())
            if not self.agent.stopping.is_set():  # a stop request leaves sending to next time
                deliver(self.agent)
        self.failures = 0
        self.outages.recovered("database", "mailbox", "fault")

    def _wait_for_mail(self) -> None:
        deadline = time.monotonic() + self.poll
        while not self.agent.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.agent.source.wait_for_mail(min(WAIT_SLICE_SECONDS, remaining)):
                return

    def _back_off(self, exc: Exception) -> None:
        self.failures += 1
        delay = backoff(self.failures)
        kind, what = self._fault(exc)
        self.outages.failed(kind, f"{what}; {retrying(delay)}", exc)
        self.state.update(f"{what}; retrying in {delay:.0f} s")
        self.agent.stopping.wait(delay)

    def _fault(self, exc: BaseException) -> tuple[str, str]:
        return fault(exc, database=where(self.agent.engine), mailbox=self.agent.source.name)

    def _stop_for(self, exc: AlreadyRunning) -> None:
        log.error("%s; this instance stops", exc)
        self.taken_over = exc
        self.agent.stopping.set()
