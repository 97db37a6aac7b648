"""A mailroom for end-to-end tests: an agent reading the shared mailbox on the real Dovecot
and sending through the real SMTP server, on SQLite or PostgreSQL, with a clock the test
moves.

`Mailroom.run(at, *emails)` puts the emails people write in the shared mailbox, runs one
pass at `at`, and returns what the agent queued in that pass (`tests.desk.Sent`: purpose,
To, CC, subject, text, when it may go). Every email the SMTP server accepted in the pass
is checked against the outbox: it went to exactly the To and CC the outbox row names, and
it is in each recipient's INBOX.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from tests.clients import outlook_reply, parse
from tests.desk import Desk, Sent
from tests.support import imap_source, smtp_transport


class Mailroom:
    def __init__(self, servers: Any, tmp: Path, at: datetime, *, council: str = "leicestershire",
                 database_url: str | None = None, **sections: Any) -> None:
        self.servers = servers
        self.desk = Desk(tmp, at, council=council, source=imap_source(servers),
                         transport=smtp_transport(servers), database_url=database_url,
                         **sections)
        self._envelopes = 0

    @property
    def agent(self) -> Any:
        return self.desk.agent

    def close(self) -> None:
        self.desk.close()

    def run(self, at: datetime, *incoming: bytes) -> list[Sent]:
        """Deliver `incoming` to the shared mailbox, received at `at`; one pass at `at`."""
        for raw in incoming:
            self.servers.deliver("agent", raw, at)
        self.desk.run(at)
        queued = self.desk.new()
        self._check_deliveries()
        return queued

    def reply(self, to: Sent, sender: str, body: str, at: datetime) -> bytes:
        """`sender` answers one of the agent's emails from Outlook (Reply All)."""
        return outlook_reply(to.row.raw, sender, body, at=at)

    def _check_deliveries(self) -> None:
        """What the SMTP server accepted since the last pass went where the outbox said."""
        fresh = self.servers.envelopes[self._envelopes:]
        self._envelopes += len(fresh)
        rows = {str(s.msg["Message-ID"]).strip(): s for s in self.desk.outbox()}
        users = set(self.servers.users)
        for envelope in fresh:
            message_id = str(envelope.message()["Message-ID"]).strip()
            assert message_id in rows, f"sent but not in the outbox: {message_id}"
            sent = rows[message_id]
            wanted = set(sent.to) | set(sent.cc)
            assert {r.lower() for r in envelope.rcpt_tos} == wanted, sent
            for user in wanted & users:
                ids = {str(parse(raw)["Message-ID"]).strip()
                       for raw in self.servers.fetch_all(user)}
                assert message_id in ids, f"{sent!r} is not in {user}'s INBOX"


def of(sent: list[Sent], purpose: str) -> list[Sent]:
    return [s for s in sent if s.purpose == purpose]


def one(sent: list[Sent], purpose: str) -> Sent:
    found = of(sent, purpose)
    assert len(found) == 1, f"expected one {purpose}, got {sent}"
    return found[0]


def people(sent: Sent) -> tuple[set[str], set[str]]:
    """(To, CC) addresses, as the recipients read them."""
    assert len(set(sent.to + sent.cc)) == len(sent.to + sent.cc), f"someone twice: {sent}"
    return set(sent.to), set(sent.cc)

