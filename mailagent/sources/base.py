"""The mail source interface every mailbox backend implements."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class SourceError(Exception):
    """The mailbox could not be reached or refused an operation (a system error, retried)."""


@dataclass(frozen=True)
class FetchedMessage:
    """One message as the mailbox holds it, before anything has read it.

    `received_at` is when the mail server received it (IMAP INTERNALDATE, Graph
    receivedDateTime, EWS datetime_received, a Maildir file's delivery time), aware, in UTC;
    None if the source cannot say.
    """

    uid: str
    raw: bytes
    uidvalidity: int | None = None
    received_at: datetime | None = None


class MailSource(Protocol):
    """A mailbox folder we read new mail from and file it away when done.

    `name` identifies the folder (it keys the stored sync state). Filing is by UID so that
    a message is never acted on twice: once processed it leaves the inbox folder.
    """

    name: str

    def fetch_new(self) -> Iterator[FetchedMessage]:
        """The messages waiting in the inbox folder, oldest first; read without marking them."""
        ...

    def mark_processed(self, uid: str) -> None:
        """Move the message to the processed folder."""
        ...

    def quarantine(self, uid: str) -> None:
        """Move the message to the quarantine folder for a person to look at."""
        ...

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until new mail may have arrived or `timeout` seconds pass."""
        ...

    def close(self) -> None: ...


class PolledFolders:
    """What the sources that poll, and file by moving a message to a named folder, share
    (Graph, EWS): filing is the source's own `_move`; waiting is the caller's poll interval,
    since neither has a push a council server behind a firewall can receive."""

    processed_folder: str
    quarantine_folder: str

    def _move(self, uid: str, folder: str) -> None:
        raise NotImplementedError

    def mark_processed(self, uid: str) -> None:
        self._move(uid, self.processed_folder)

    def quarantine(self, uid: str) -> None:
        self._move(uid, self.quarantine_folder)

    def wait_for_mail(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False


class CursorStore(Protocol):
    """Where a source keeps its place between runs (a Graph delta link)."""

    def load(self, source: str) -> str | None: ...

    def save(self, source: str, cursor: str | None) -> None: ...


class MemoryCursors:
    """Cursors in memory only, lost when the process ends (tests)."""

    def __init__(self) -> None:
        self._cursors: dict[str, str | None] = {}

    def load(self, source: str) -> str | None:
        return self._cursors.get(source)

    def save(self, source: str, cursor: str | None) -> None:
        self._cursors[source] = cursor
