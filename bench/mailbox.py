"""The shared mailbox, as the bench handles it: APPENDing the corpus with the instants it
was sent as INTERNALDATEs, counting what waits, the bare IDLE client that is P1's floor,
and the FETCH-and-parse that is P2's floor."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from imapclient import IMAPClient

from bench.corpus import Corpus
from tests.servers import MailServers

AGENT = "agent@example.test"
APPEND_CHUNK = 500
FETCH_BATCH = 100  # as the agent fetches


def connect(servers: MailServers, user: str = AGENT) -> IMAPClient:
    return servers.imap_connect(user)


def append(servers: MailServers, mail: Corpus, start: int = 0, stop: int | None = None,
           folder: str = "INBOX", user: str = AGENT) -> None:
    """APPEND messages[start:stop] in MULTIAPPEND commands, each with the instant it was
    sent as its INTERNALDATE (the arrival time the agent reads)."""
    stop = len(mail) if stop is None else stop
    with connect(servers, user) as client:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for i in range(start, stop, APPEND_CHUNK):
            j = min(stop, i + APPEND_CHUNK)
            client.multiappend(folder, [{"msg": mail.messages[k], "date": mail.dates[k]}
                                        for k in range(i, j)])


class InboxCount:
    """How many messages wait in a folder (STATUS on a connection of its own)."""

    def __init__(self, servers: MailServers, user: str = AGENT, folder: str = "INBOX") -> None:
        self.client, self.folder = connect(servers, user), folder

    def __call__(self) -> int:
        return int(self.client.folder_status(self.folder, [b"MESSAGES"])[b"MESSAGES"])

    def close(self) -> None:
        self.client.logout()


@dataclass
class IdleWatch:
    """The P1 floor: a bare imapclient client in IDLE, noting when Dovecot reports EXISTS."""

    servers: MailServers
    exists_at: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        client = connect(self.servers)
        client.select_folder("INBOX", readonly=True)
        client.idle()
        self._thread = threading.Thread(target=self._run, args=(client,), daemon=True)
        self._thread.start()

    def _run(self, client: IMAPClient) -> None:
        while not self._stop.is_set():
            responses = client.idle_check(timeout=0.2)
            now = time.monotonic()
            if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                self.exists_at.append(now)
        client.idle_done()
        client.logout()

    def first_after(self, t0: float, timeout: float = 5.0) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [t for t in self.exists_at if t >= t0]
            if later:
                return min(later) - t0
            time.sleep(0.005)
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)


def read_floor(servers: MailServers, mail: Corpus) -> float:
    """Messages per second: FETCH every message of a folder holding `mail` and parse each with
    the standard library's default policy, reading its headers and its body."""
    folder = "BenchFloor"
    with connect(servers) as client:
        if client.folder_exists(folder):
            client.delete_folder(folder)
    append(servers, mail, folder=folder)
    start = time.perf_counter()
    with connect(servers) as client:
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search(["ALL"]))
        for i in range(0, len(uids), FETCH_BATCH):
            data = client.fetch(uids[i:i + FETCH_BATCH], ["BODY.PEEK[]"])
            for item in data.values():
                msg = message_from_bytes(item[b"BODY[]"], policy=policy.default)
                str(msg["From"]), str(msg["Subject"]), str(msg["Message-ID"])
                body = msg.get_body(("plain", "html"))
                if body is not None:
                    body.get_content()
    seconds = time.perf_counter() - start
    with connect(servers) as client:
        client.delete_folder(folder)
    return len(uids) / seconds
