"""The inbound record: each message stored once, and never acted on twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from mailagent.sources.base import FetchedMessage
from mailagent.store.db import create_db_engine, transaction, upgrade
from mailagent.store.inbound import arrival_time, finish, record
from mailagent.store.models import Inbound

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
RAW = b"Message-ID: <a@example.test>\r\nSubject: x\r\n\r\nbody\r\n"


def _engine(tmp_path: Path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    return engine


def _record(engine, source: str, fetched: FetchedMessage, status: str | None = None):
    with transaction(engine) as session:
        row = record(session, source, fetched, NOW)
        if status is not None:
            finish(session, row, status, NOW)
    return row


def test_same_bytes_are_recorded_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    first = _record(engine, "imap:box", FetchedMessage("1", RAW, 7))
    assert first.status == "new"
    again = _record(engine, "imap:box", FetchedMessage("9", RAW, 8))
    assert again.id == first.id


def test_a_handled_message_rebuilt_by_the_server_is_not_handled_again(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    first = _record(engine, "imap:box", FetchedMessage("1", RAW, 7), status="processed")
    rebuilt = RAW.replace(b"Subject: x", b"Subject: x\r\nX-MS-Exchange-Rebuilt: yes")
    again = _record(engine, "imap:box", FetchedMessage("1", rebuilt, 8))
    assert (again.id, again.status) == (first.id, "processed")
    # The same Message-ID from another mailbox is another message.
    other = _record(engine, "maildir:x", FetchedMessage("1", rebuilt, None))
    assert other.id != first.id and other.status == "new"


def test_a_record_rolled_back_with_its_handling_leaves_nothing(tmp_path: Path) -> None:
    # The pipeline records, acts and marks in one transaction: killed before the commit,
    # the message was never recorded, so the next pass handles it from scratch, once.
    engine = _engine(tmp_path)
    try:
        with transaction(engine) as session:
            record(session, "imap:box", FetchedMessage("1", RAW, 7), NOW)
            raise RuntimeError("killed before the commit")
    except RuntimeError:
        pass
    with Session(engine) as session:
        assert session.exec(select(Inbound)).all() == []


def test_arrival_time_is_the_servers_but_never_in_the_future() -> None:
    earlier = NOW - timedelta(days=3)
    assert arrival_time(FetchedMessage("1", RAW, received_at=earlier), NOW) == earlier
    assert arrival_time(FetchedMessage("1", RAW, received_at=NOW + timedelta(minutes=2)),
                        NOW) == NOW
    assert arrival_time(FetchedMessage("1", RAW), NOW) == NOW
