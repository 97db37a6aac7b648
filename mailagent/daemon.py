"""The long-running job: the mailbox watcher and the scheduler, in one process.

The watcher waits for mail (IMAP IDLE, or polling a Maildir), processes what arrived and
sends what is queued. An APScheduler 3 scheduler runs the sweep every few minutes and the
outbox retries every minute. One lock serialises all work so a sweep never races a message
on the same case. Only one instance may act on a mailbox (an instance lock); SIGTERM lets
the current message finish and then exits cleanly.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from filelock import FileLock, Timeout

from mailagent.app import Agent, data_path
from mailagent.pipeline import PassReport, deliver, process_mailbox
from mailagent.sources.base import SourceError
from mailagent.sweep import sweep

log = logging.getLogger(__name__)

SWEEP_MINUTES = 5
WAIT_SECONDS = 25 * 60  # IDLE is re-issued well before servers drop it at 29-30 minutes
MAX_BACKOFF_SECONDS = 300.0


class AlreadyRunning(Exception):
    """Another instance holds the mailbox."""


def run_forever(agent: Agent, *, install_signals: bool = True) -> None:
    """Run until SIGTERM/SIGINT (or `agent.stopping` is set)."""
    if install_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: agent.stopping.set())
    work = threading.Lock()
    with instance_lock(agent):
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(_locked(work, lambda: sweep(agent, agent.clock.now())), "interval",
                          minutes=SWEEP_MINUTES, id="sweep", coalesce=True, max_instances=1)
        scheduler.add_job(_locked(work, lambda: deliver(agent)), "interval", minutes=1,
                          id="outbox", coalesce=True, max_instances=1)
        scheduler.start()
        try:
            _watch(agent, work)
        finally:
            scheduler.shutdown(wait=True)
    log.info("stopped cleanly")


def _watch(agent: Agent, work: threading.Lock) -> None:
    failures = 0
    poll = float(getattr(agent.settings.source, "poll_seconds", 5.0))
    with work:
        sweep(agent, agent.clock.now())
    while not agent.stopping.is_set():
        try:
            with work:
                process_mailbox(agent, PassReport())
                deliver(agent)
            failures = 0
            agent.source.wait_for_mail(min(poll, WAIT_SECONDS))
        except SourceError as exc:
            failures += 1
            delay = min(MAX_BACKOFF_SECONDS, 2.0 ** min(failures, 8)) * random.uniform(0.5, 1.0)
            log.warning("mailbox unavailable (%s); retrying in %.1f s", exc, delay)
            agent.stopping.wait(delay)


def _locked(lock: threading.Lock, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with lock:
            try:
                job()
            except Exception:
                log.exception("scheduled job failed")

    return run


@contextmanager
def instance_lock(agent: Agent) -> Iterator[None]:
    """Hold the mailbox for this process: a PostgreSQL advisory lock or a lock file."""
    if agent.engine.dialect.name == "postgresql":
        with agent.engine.connect() as conn:
            # crc32, not hash(): it must be the same number in every process.
            key = zlib.crc32(agent.source.name.encode()) & 0x7FFFFFFF
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            if not got:
                raise AlreadyRunning("another mailagent is already running on this mailbox")
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    path = data_path(agent.settings, "mailagent.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise AlreadyRunning(
            f"another mailagent is already running on this mailbox (lock {path})"
        ) from exc
    try:
        yield
    finally:
        lock.release()
