"""Only one agent acts on a mailbox: a PostgreSQL advisory lock (which holds across
machines) or, with SQLite, a lock file in the data folder.

The advisory lock belongs to one database session, so it dies with that connection (a
PostgreSQL restart, a network cut). `check()`, called before each piece of work, notices and
takes it again on a new connection before anything more is done: while the database is
down that fails like any database outage (the caller waits it out); if another instance
took the mailbox meanwhile, AlreadyRunning says so and this one stops.
"""

from __future__ import annotations

import contextlib
import logging
import time
import zlib
from collections.abc import Iterator

import sqlalchemy as sa
from filelock import FileLock, Timeout

from mailagent.app import Agent, data_path

log = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    """Another instance holds the mailbox."""


class InstanceLock:
    """Proof that this process holds the mailbox."""

    def check(self) -> None:
        """Raise if this process no longer holds the mailbox and cannot take it back."""

    def release(self) -> None: ...


class _LockFile(InstanceLock):
    def __init__(self, lock: FileLock) -> None:
        self._lock = lock

    def release(self) -> None:
        self._lock.release()


class _AdvisoryLock(InstanceLock):
    def __init__(self, agent: Agent, wait_seconds: float) -> None:
        self._agent = agent
        # crc32, not hash(): it must be the same number in every process.
        self.key = zlib.crc32(agent.source.name.encode()) & 0x7FFFFFFF
        self._connection: sa.Connection | None = None
        self._take(wait_seconds)

    def check(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT 1"))
                return
            except sa.exc.DBAPIError:
                self._drop()
                log.warning("the database connection holding the instance lock dropped; "
                            "taking the lock again before any more work")
        self._take(0.0)
        log.info("instance lock taken again")

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"),
                                         {"k": self.key})
            self._drop()

    def _take(self, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        # Autocommit: the lock belongs to the session, and a connection held for months must
        # not sit "idle in transaction".
        connection = self._agent.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            while not connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                         {"k": self.key}).scalar():
                if time.monotonic() >= deadline or self._agent.stopping.wait(1.0):
                    raise AlreadyRunning(
                        f"another mailagent is already running on this mailbox "
                        f"({self._agent.source.name}; PostgreSQL advisory lock {self.key} "
                        "is held)"
                    )
        except BaseException:
            with contextlib.suppress(Exception):
                connection.close()
            raise
        self._connection = connection

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.invalidate()
                self._connection.close()
        self._connection = None


def take_instance_lock(agent: Agent, *, wait_seconds: float = 0.0) -> InstanceLock:
    """Hold the mailbox for this process; with `wait_seconds`, wait that long for another
    instance to let go before raising AlreadyRunning."""
    if agent.engine.dialect.name == "postgresql":
        return _AdvisoryLock(agent, wait_seconds)
    path = data_path(agent.settings, "mailagent.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    file_lock = FileLock(str(path))
    try:
        file_lock.acquire(timeout=wait_seconds)
    except Timeout as exc:
        raise AlreadyRunning(
            f"another mailagent is already running on this mailbox (lock file {path} is held)"
        ) from exc
    return _LockFile(file_lock)


@contextlib.contextmanager
def instance_lock(agent: Agent, *, wait_seconds: float = 0.0) -> Iterator[InstanceLock]:
    """`take_instance_lock`, released at the end of the block."""
    lock = take_instance_lock(agent, wait_seconds=wait_seconds)
    try:
        yield lock
    finally:
        lock.release()
