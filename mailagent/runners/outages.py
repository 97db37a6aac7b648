"""Waiting out an outage of the database or the mailbox, and saying so once.

An outage is reported in one line when it starts: what is unavailable, where, and what the
agent does meanwhile (mail waits on the server, queued email in the outbox; the agent tries
again, backing off). Repeats are logged only at DEBUG, with the traceback; the recovery once,
at INFO. The waits double from about a second to five minutes, with jitter so that a fleet
does not reconnect in step; a stop request ends a wait at once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from mailagent.sources.base import SourceError
from mailagent.store.db import is_outage, outage_reason

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0

T = TypeVar("T")


def backoff(failures: int) -> float:
    """The wait after `failures` failures in a row: doubling, capped, with jitter."""
    delay = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** min(failures - 1, 20))
    return delay * random.uniform(0.5, 1.0)


def retrying(delay: float) -> str:
    """What the agent does about an outage, in words for its log line."""
    longest = f"{MAX_BACKOFF_SECONDS / 60:g} min" if MAX_BACKOFF_SECONDS >= 60 else \
        f"{MAX_BACKOFF_SECONDS:g} s"
    return (f"retrying in {delay:.0f} s, backing off up to {longest}; mail waits on the mail "
            "server and queued email in the outbox; nothing is lost")


def fault(exc: BaseException, *, database: str, mailbox: str) -> tuple[str, str]:
    """(kind, what happened and where) for a failure: the database, the mailbox, or (any
    other exception) a fault in our own code."""
    if is_outage(exc):
        return "database", f"database unavailable ({database}: {outage_reason(exc)})"
    if isinstance(exc, SourceError):
        return "mailbox", f"mailbox unavailable ({mailbox}: {exc})"
    return "fault", (f"unexpected {type(exc).__name__} (a fault in mailagent; the traceback "
                     "is logged at DEBUG)")


class Outages:
    """Which kinds of outage are under way; shared by the watcher and the scheduled jobs, so
    that each outage is one line in the log whichever of them meets it first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ongoing: dict[str, tuple[float, int]] = {}  # kind -> (since, failures)

    def failed(self, kind: str, line: str, exc: BaseException) -> None:
        with self._lock:
            since, count = self._ongoing.get(kind, (time.monotonic(), 0))
            self._ongoing[kind] = (since, count + 1)
        if count == 0:
            log.log(logging.ERROR if kind == "fault" else logging.WARNING, "%s", line)
        log.debug("%s (failure %s of this outage)", line, count + 1, exc_info=exc)

    def recovered(self, *kinds: str) -> None:
        for kind in kinds:
            with self._lock:
                ended = self._ongoing.pop(kind, None)
            if ended is not None:
                since, count = ended
                log.info("%s: available again after %.0f s (%s failed attempt(s))",
                         kind, time.monotonic() - since, count)


def wait_out(
    attempt: Callable[[], T], *, stopping: threading.Event, outages: Outages,
    database: str, mailbox: str, doing: str, state: Callable[[str], object] | None = None,
) -> T | None:
    """`attempt()`, tried again while the database or the mailbox is down, until it works
    (its result) or `stopping` is set (None). Any other exception is raised."""
    failures = 0
    while not stopping.is_set():
        try:
            result = attempt()
        except Exception as exc:
            if not (is_outage(exc) or isinstance(exc, SourceError)):
                raise
            failures += 1
            delay = backoff(failures)
            kind, what = fault(exc, database=database, mailbox=mailbox)
            outages.failed(kind, f"{what}; {doing}: {retrying(delay)}", exc)
            if state is not None:
                state(f"{what}; retrying in {delay:.0f} s")
            stopping.wait(delay)
            continue
        outages.recovered("database", "mailbox")
        return result
    return None
