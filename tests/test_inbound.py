"""The inbound record: each message stored once, and never acted on twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mailagent.sources.base import FetchedMessage
from mailagent.store.db import create_db_engine, upgrade
from mailagent.store.inbound import mark, record_fetched

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
RAW = b"Message-ID: <a@example.test>\r\nSubject: x\r\n\r\nbody\r\n"


def _engine(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    return engine


def test_same_bytes_are_recorded_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    first = record_fetched(engine, "imap:box", FetchedMessage("1", RAW, 7), NOW)
    assert not first.done
    again = record_fetched(engine, "imap:box", FetchedMessage("9", RAW, 8), NOW)
    assert again.inbound_id == first.inbound_id


def test_a_handled_message_rebuilt_by_the_server_is_not_handled_again(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    first = record_fetched(engine, "imap:box", FetchedMessage("1", RAW, 7), NOW)
    mark(engine, first.inbound_id, "processed", NOW)
    rebuilt = RAW.replace(b"Subject: x", b"Subject: x\r\nX-MS-Exchange-Rebuilt: yes")
    again = record_fetched(engine, "imap:box", FetchedMessage("1", rebuilt, 8), NOW)
    assert (again.inbound_id, again.done) == (first.inbound_id, True)
    # The same Message-ID from another mailbox is another message.
    other = record_fetched(engine, "maildir:x", FetchedMessage("1", rebuilt, None), NOW)
    assert other.inbound_id != first.inbound_id and not other.done
