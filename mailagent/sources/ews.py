"""The shared mailbox's Inbox on Exchange Server, read by EWS (exchangelib).

Each round lists the Inbox's item ids oldest first, with when Exchange received each
(`datetime_received`), then reads each message's MIME content
(so EWS, IMAP and Graph feed one parser) and files it by moving it to a folder beside the
Inbox. Listing first and reading after means moving messages away cannot shift the pages
of a listing still under way. EWS's streaming notifications are not used: the caller's
poll interval drives the reading, as for Graph.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from exchangelib import Account, Folder
from exchangelib.errors import ErrorItemNotFound

from mailagent.microsoft.exchange import EXCHANGE_ERRORS, folder_beside_inbox
from mailagent.sources.base import FetchedMessage, PolledFolders, SourceError

log = logging.getLogger(__name__)

READ_BATCH = 20


class EwsSource(PolledFolders):
    def __init__(
        self,
        connect: Callable[[], Account],
        mailbox: str,
        *,
        processed_folder: str = "Processed",
        quarantine_folder: str = "Quarantine",
    ) -> None:
        self.mailbox = mailbox
        self.processed_folder, self.quarantine_folder = processed_folder, quarantine_folder
        self.name = f"ews:{mailbox}/Inbox"
        self._connect = connect
        self._account: Account | None = None
        self._folders: dict[str, Folder] = {}

    # -- the MailSource interface -------------------------------------------------------

    def fetch_new(self) -> Iterator[FetchedMessage]:
        with self._errors_as_source_error():
            account = self._connected()
            listed = list(account.inbox.all().order_by("datetime_received").values_list(
                "id", "changekey", "datetime_received"
            ))
            received = {item_id: _utc(when) for item_id, _, when in listed}
            ids = [(item_id, changekey) for item_id, changekey, _ in listed]
        for start in range(0, len(ids), READ_BATCH):
            with self._errors_as_source_error():
                items = list(
                    account.fetch(ids=ids[start : start + READ_BATCH], folder=account.inbox,
                                  only_fields=["mime_content"])
                )
            for item in items:
                if isinstance(item, ErrorItemNotFound):
                    continue  # moved or deleted since the listing
                if isinstance(item, Exception):
                    raise SourceError(f"EWS: {item}")
                if item.mime_content:
                    yield FetchedMessage(uid=item.id, raw=bytes(item.mime_content),
                                         received_at=received.get(item.id))

    def close(self) -> None:
        if self._account is not None:
            with contextlib.suppress(Exception):
                self._account.protocol.close()
        self._account = None

    # -- internals ----------------------------------------------------------------------

    def _connected(self) -> Account:
        if self._account is None:
            self._account = self._connect()
        return self._account

    def _move(self, uid: str, folder_name: str) -> None:
        with self._errors_as_source_error():
            account = self._connected()
            if folder_name not in self._folders:
                self._folders[folder_name] = folder_beside_inbox(account, folder_name)
            results = account.bulk_move(ids=[(uid, None)], to_folder=self._folders[folder_name])
        for result in results:
            if isinstance(result, ErrorItemNotFound):
                continue  # already filed: moving is idempotent
            if isinstance(result, Exception):
                raise SourceError(f"EWS: cannot move a message: {result}")

    @contextlib.contextmanager
    def _errors_as_source_error(self) -> Iterator[None]:
        try:
            yield
        except EXCHANGE_ERRORS as exc:
            # A fresh Account next time: its cached folders and sessions may be stale.
            self.close()
            self._folders.clear()
            raise SourceError(f"EWS: {type(exc).__name__}: {exc}") from exc


def _utc(value: object) -> datetime | None:
    """exchangelib's EWSDateTime (aware) as a plain aware UTC datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    # Not astimezone(): EWSDateTime accepts only its own timezone class.
    return datetime.fromtimestamp(value.timestamp(), UTC)
