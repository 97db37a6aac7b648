"""An IMAP folder as a mail source (imapclient), by UID with UIDVALIDITY checked.

Messages are read with BODY.PEEK[] so reading marks nothing; a message leaves the inbox
folder only when it is filed, by MOVE where the server has it (COPY and expunge if not).
"""

from __future__ import annotations

import contextlib
import logging
import ssl as ssl_lib
from collections.abc import Callable, Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from mailagent.sources.base import FetchedMessage, SourceError

log = logging.getLogger(__name__)

FETCH_BATCH = 100
TokenProvider = Callable[[], str]


class ImapSource:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        *,
        password: str | None = None,
        token_provider: TokenProvider | None = None,
        ssl: bool = True,
        starttls: bool = False,
        folder: str = "INBOX",
        processed_folder: str = "Processed",
        quarantine_folder: str = "Quarantine",
        timeout: float = 60.0,
    ) -> None:
        self.host, self.port, self.username = host, port, username
        self.folder = folder
        self.processed_folder, self.quarantine_folder = processed_folder, quarantine_folder
        self.name = f"imap:{username}@{host}:{port}/{folder}"
        self._password, self._token_provider = password, token_provider
        self._ssl, self._starttls, self._timeout = ssl, starttls, timeout
        self._client: IMAPClient | None = None
        self.uidvalidity: int | None = None

    # -- the MailSource interface -------------------------------------------------------

    def fetch_new(self) -> Iterator[FetchedMessage]:
        client = self._connected()
        with self._errors_as_source_error():
            client.noop()  # lets the server report mail that arrived since the last command
            uids = sorted(client.search(["ALL"]))
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            with self._errors_as_source_error():
                data = client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                raw = data.get(uid, {}).get(b"BODY[]")
                if raw is not None:
                    yield FetchedMessage(uid=str(uid), raw=raw, uidvalidity=self.uidvalidity)

    def mark_processed(self, uid: str) -> None:
        self._move(uid, self.processed_folder)

    def quarantine(self, uid: str) -> None:
        self._move(uid, self.quarantine_folder)

    def wait_for_mail(self, timeout: float) -> bool:
        """IDLE until the server reports a change (Dovecot tells after ~0.5 s) or timeout."""
        client = self._connected()
        with self._errors_as_source_error():
            if not client.has_capability("IDLE"):
                client.noop()
                return True
            client.idle()
            try:
                responses = client.idle_check(timeout=timeout)
            finally:
                client.idle_done()
        return bool(responses)

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(IMAPClientError, OSError):
                self._client.logout()
            self._client = None

    # -- connection ---------------------------------------------------------------------

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> IMAPClient:
        with self._errors_as_source_error():
            client = IMAPClient(
                self.host, port=self.port, ssl=self._ssl, timeout=self._timeout,
                ssl_context=ssl_lib.create_default_context() if self._ssl else None,
            )
            if self._starttls:
                client.starttls(ssl_lib.create_default_context())
            if self._token_provider is not None:
                client.oauth2_login(self.username, self._token_provider())
            else:
                client.login(self.username, self._password or "")
            for folder in (self.processed_folder, self.quarantine_folder):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
            selected = client.select_folder(self.folder)
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        log.info("connected to IMAP folder", extra={"source": self.name})
        return client

    @contextlib.contextmanager
    def _errors_as_source_error(self) -> Iterator[None]:
        """Turn network and server errors into SourceError and drop the broken link."""
        try:
            yield
        except (IMAPClientError, OSError) as exc:
            self._client = None
            raise SourceError(f"IMAP: {exc}") from exc

    def _move(self, uid: str, folder: str) -> None:
        client = self._connected()
        with self._errors_as_source_error():
            if client.has_capability("MOVE"):
                client.move([int(uid)], folder)
                return
            client.copy([int(uid)], folder)
            client.delete_messages([int(uid)])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([int(uid)])
            else:
                client.expunge()


