"""An IMAP folder as a mail source (imapclient), by UID with UIDVALIDITY checked.

Messages are read with BODY.PEEK[] so reading marks nothing, with their INTERNALDATE (when
the server received them); a message leaves the inbox folder only when it is filed, by MOVE
where the server has it (COPY and expunge if not).

Waiting uses IDLE where the server offers it. One IDLE stays open across calls to
`wait_for_mail` (so a caller may wait in short slices and still notice a stop request) and
is renewed every 25 minutes, before servers end it at 29-30. Any other command ends it
first. A connection that drops (a server restart, a token that expired) raises SourceError
and is opened afresh on the next call, with a fresh token for XOAUTH2; the caller decides
how long to back off.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl as ssl_lib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailagent.microsoft.oauth import Invalidatable
from mailagent.sources.base import FetchedMessage, SourceError

log = logging.getLogger(__name__)

FETCH_BATCH = 100
IDLE_RENEW_SECONDS = 25 * 60
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
        idle_renew_seconds: float = IDLE_RENEW_SECONDS,
        ssl_context: ssl_lib.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.username = host, port, username
        self.folder = folder
        self.processed_folder, self.quarantine_folder = processed_folder, quarantine_folder
        self.name = f"imap:{username}@{host}:{port}/{folder}"
        self._password, self._token_provider = password, token_provider
        self._ssl, self._starttls, self._timeout = ssl, starttls, timeout
        self._context = ssl_context or ssl_lib.create_default_context()
        self._idle_renew = idle_renew_seconds
        self._client: IMAPClient | None = None
        self._idle_since: float | None = None  # monotonic time the open IDLE began
        self._unreadable: set[int] = set()  # listed, but the server gave no body
        self.uidvalidity: int | None = None

    # -- the MailSource interface -------------------------------------------------------

    def fetch_new(self) -> Iterator[FetchedMessage]:
        client = self._ready()
        with self._errors_as_source_error():
            client.noop()  # lets the server report mail that arrived since the last command
            uids = sorted(client.search(["ALL"]))
        self._unreadable = set()
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            with self._errors_as_source_error():
                data = self._ready().fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in batch:
                item = data.get(uid, {})
                raw = item.get(b"BODY[]")
                if raw is None:
                    self._unreadable.add(uid)
                else:
                    yield FetchedMessage(uid=str(uid), raw=raw, uidvalidity=self.uidvalidity,
                                         received_at=_utc(item.get(b"INTERNALDATE")))

    def mark_processed(self, uid: str) -> None:
        self._move(uid, self.processed_folder)

    def quarantine(self, uid: str) -> None:
        self._move(uid, self.quarantine_folder)

    def wait_for_mail(self, timeout: float) -> bool:
        """True once the server reports new mail (Dovecot tells after ~0.5 s); False after
        `timeout` seconds without. Without IDLE, sleep and let the caller's poll look."""
        client = self._connected()
        with self._errors_as_source_error():
            if not client.has_capability("IDLE"):
                # The caller's poll interval reads the folder; its SEARCH keeps the session
                # alive, far more often than servers' 30-minute autologout.
                time.sleep(timeout)
                return False
            if self._idle_since is not None and self._idle_age() >= self._idle_renew:
                self._end_idle()
            if self._idle_since is None and self._start_idle(client):
                return True
            if _already_read(client):
                # The server's news came in the same packet as an earlier answer (IDLE's
                # "+ idling", say) and sits in imaplib's buffer, where polling the socket
                # cannot see it: end IDLE, which reads it, and let the caller look.
                self._end_idle()
                return True
            started = time.monotonic()
            responses = client.idle_check(timeout=timeout)
            woke_early = time.monotonic() - started < timeout * 0.9
        return self._new_mail(responses, woke_early)

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(IMAPClientError, OSError):
                self._end_idle()
                self._client.logout()
            self._drop()

    # -- IDLE ---------------------------------------------------------------------------

    def _start_idle(self, client: IMAPClient) -> bool:
        """Enter IDLE; True (without entering) if mail is already waiting.

        The answer to an earlier command (a MOVE) may have carried the news of a message
        that arrived meanwhile, and IDLE does not repeat it: look before idling. A message
        the server would not give us does not count, or the caller would spin on it.
        """
        client.noop()
        if set(client.search(["ALL"])) - self._unreadable:
            return True
        client.idle()
        self._idle_since = time.monotonic()
        return False

    def _end_idle(self) -> None:
        if self._idle_since is not None and self._client is not None:
            self._idle_since = None
            self._client.idle_done()

    def _idle_age(self) -> float:
        return time.monotonic() - (self._idle_since or time.monotonic())

    def _new_mail(self, responses: list[tuple], woke_early: bool) -> bool:
        """Read what the server said while idling: new mail, a goodbye, or nothing."""
        for response in responses:
            if len(response) >= 2 and response[0] == b"BYE":
                self._server_said_goodbye(response[1])
        if not responses and woke_early:
            # The socket turned readable but held no whole response: the server closed it.
            self._drop()
            raise SourceError("IMAP: the server closed the connection")
        return any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def _server_said_goodbye(self, text: object) -> None:
        reason = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        # Exchange Online ends a session whose token expired ("AccessTokenExpired").
        if "token" in reason.lower() or "expired" in reason.lower():
            self._invalidate_token()
        self._drop()
        raise SourceError(f"IMAP: the server ended the session: {reason}")

    # -- connection ---------------------------------------------------------------------

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _ready(self) -> IMAPClient:
        """The connection, out of IDLE, ready for a command."""
        client = self._connected()
        with self._errors_as_source_error():
            self._end_idle()
        return client

    def _connect(self) -> IMAPClient:
        try:
            client, selected = self._open(retry_refused_token=True)
        except _TokenRefused:
            log.info("XOAUTH2 login refused; retrying with a fresh token",
                     extra={"source": self.name})
            client, selected = self._open(retry_refused_token=False)
        self._note_uidvalidity(int(selected[b"UIDVALIDITY"]))
        log.info("connected to IMAP folder", extra={"source": self.name})
        return client

    def _open(self, *, retry_refused_token: bool) -> tuple[IMAPClient, dict]:
        with self._errors_as_source_error():
            client = IMAPClient(
                self.host, port=self.port, ssl=self._ssl, timeout=self._timeout,
                ssl_context=self._context if self._ssl else None,
            )
            client.normalise_times = False  # INTERNALDATE with the server's zone, not naive
            try:
                if self._starttls:
                    client.starttls(self._context)
                self._login(client, retry_refused_token)
                for folder in (self.processed_folder, self.quarantine_folder):
                    if not client.folder_exists(folder):
                        client.create_folder(folder)
                selected = client.select_folder(self.folder)
            except BaseException:
                with contextlib.suppress(Exception):
                    client.shutdown()
                raise
        return client, selected

    def _login(self, client: IMAPClient, retry_refused_token: bool) -> None:
        if self._token_provider is None:
            client.login(self.username, self._password or "")
            return
        try:
            client.oauth2_login(self.username, self._token_provider())
        except LoginError:
            # A token we thought good was refused (revoked, or the server's clock is ahead
            # of ours): fetch a new one and try once more on a new connection.
            if retry_refused_token and self._invalidate_token():
                raise _TokenRefused from None
            raise

    def _invalidate_token(self) -> bool:
        if isinstance(self._token_provider, Invalidatable):
            self._token_provider.invalidate()
            return True
        return False

    def _note_uidvalidity(self, uidvalidity: int) -> None:
        if self.uidvalidity is not None and uidvalidity != self.uidvalidity:
            # Every UID we knew is void. Nothing is lost: what is still in the folder is read
            # again, and the inbound record (keyed by content) knows what was processed.
            log.warning(
                "UIDVALIDITY changed from %s to %s: re-syncing the folder",
                self.uidvalidity, uidvalidity, extra={"source": self.name},
            )
        self.uidvalidity = uidvalidity

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.shutdown()
        self._client, self._idle_since = None, None

    @contextlib.contextmanager
    def _errors_as_source_error(self) -> Iterator[None]:
        """Turn network and server errors into SourceError and drop the broken link."""
        try:
            yield
        except (IMAPClientError, OSError) as exc:
            self._drop()
            raise SourceError(f"IMAP: {_said(exc)}") from exc

    def _move(self, uid: str, folder: str) -> None:
        client = self._ready()
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


def _said(exc: Exception) -> str:
    """What the server or the network said. imaplib passes the server's words as bytes,
    and imapclient sometimes as their repr ("b'[AUTHENTICATIONFAILED] ...'")."""
    words = exc.args[0] if exc.args else None
    if isinstance(words, bytes):
        return words.decode("utf-8", "replace")
    text = str(exc) or type(exc).__name__
    quoted = re.fullmatch(r"b(['\"])(.*)\1", text, flags=re.S)
    return quoted.group(2) if quoted else text


def _already_read(client: IMAPClient) -> bool:
    """True if bytes from the server wait in imaplib's read buffer (or the TLS layer's),
    unseen by a poll of the socket: IMAPClient.idle_check would sleep through them."""
    sock = client.socket()
    if isinstance(sock, ssl_lib.SSLSocket) and sock.pending():
        return True
    reader = getattr(client._imap, "file", None)  # imaplib's buffered reader
    if reader is None or not hasattr(reader, "peek"):
        return False
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(reader.peek(1))  # what is buffered, else one read that cannot block
    except OSError:  # nothing to read (BlockingIOError, SSLWantReadError)
        return False
    finally:
        sock.settimeout(timeout)


def _utc(value: object) -> datetime | None:
    """INTERNALDATE as an aware UTC datetime (a zone-less one is taken as UTC)."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _TokenRefused(Exception):
    """The server refused our bearer token, which has now been invalidated."""
