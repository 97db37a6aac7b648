"""Mail sources: the Maildir a person drops files into, and a real Dovecot IMAP folder."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailagent.sources.imap import ImapSource
from mailagent.sources.maildir import MaildirSource
from tests.support import email_bytes


@functools.cache
def _mail(n: int) -> bytes:
    return email_bytes(sender="iro1@example.test", subject=f"message {n}", body=f"body {n}")


def test_maildir_reads_dropped_eml_and_delivered_mail(tmp_path: Path) -> None:
    source = MaildirSource(tmp_path / "box")
    (tmp_path / "box" / "dropped.eml").write_bytes(_mail(1))
    (tmp_path / "box" / "new" / "123.host").write_bytes(_mail(2))
    fetched = list(source.fetch_new())
    assert sorted(f.raw for f in fetched) == sorted([_mail(1), _mail(2)])
    assert not (tmp_path / "box" / "dropped.eml").exists()


def test_maildir_files_processed_and_quarantined(tmp_path: Path) -> None:
    source = MaildirSource(tmp_path / "box")
    for n in (1, 2):
        (tmp_path / "box" / f"{n}.eml").write_bytes(_mail(n))
    first, second = list(source.fetch_new())
    source.mark_processed(first.uid)
    source.quarantine(second.uid)
    source.mark_processed(first.uid)  # filing twice is harmless
    assert list(source.fetch_new()) == []
    processed = list((tmp_path / "box" / ".Processed" / "new").iterdir())
    quarantined = list((tmp_path / "box" / ".Quarantine" / "new").iterdir())
    assert [p.read_bytes() for p in processed] == [first.raw]
    assert [p.read_bytes() for p in quarantined] == [second.raw]


def test_maildir_wait_sees_a_dropped_file(tmp_path: Path) -> None:
    source = MaildirSource(tmp_path / "box")
    assert source.wait_for_mail(0.01) is False
    (tmp_path / "box" / "x.eml").write_bytes(_mail(1))
    assert source.wait_for_mail(0.01) is True


def _lf(raws) -> list[bytes]:
    """IMAP servers store CRLF line ends; compare content, not line ends."""
    return [raw.replace(b"\r\n", b"\n") for raw in raws]


def _imap(servers) -> ImapSource:
    return ImapSource(servers.imap_host, servers.imap_port, "agent@example.test",
                      password=servers.password, ssl=False)


@pytest.mark.servers
def test_imap_fetches_without_marking_seen_and_moves(mailboxes) -> None:
    uids = [mailboxes.append("agent", _mail(n)) for n in (1, 2, 3)]
    source = _imap(mailboxes)
    try:
        fetched = list(source.fetch_new())
        assert _lf(f.raw for f in fetched) == [_mail(1), _mail(2), _mail(3)]
        assert [int(f.uid) for f in fetched] == uids
        assert all(f.uidvalidity == mailboxes.uidvalidity("agent") for f in fetched)
        assert all(b"\\Seen" not in m.flags for m in mailboxes.fetch_messages("agent"))
        source.mark_processed(fetched[0].uid)
        source.quarantine(fetched[1].uid)
        assert _lf(f.raw for f in source.fetch_new()) == [_mail(3)]
    finally:
        source.close()
    assert _lf(mailboxes.fetch_all("agent", "Processed")) == [_mail(1)]
    assert _lf(mailboxes.fetch_all("agent", "Quarantine")) == [_mail(2)]


@pytest.mark.servers
def test_imap_idle_wakes_on_new_mail(mailboxes) -> None:
    source = _imap(mailboxes)
    try:
        list(source.fetch_new())
        import threading

        timer = threading.Timer(0.2, lambda: mailboxes.append("agent", _mail(9)))
        timer.start()
        assert source.wait_for_mail(10) is True
        timer.join()
        assert _lf(f.raw for f in source.fetch_new()) == [_mail(9)]
    finally:
        source.close()


# -- when each message reached the mailbox --------------------------------------------------

FRIDAY = datetime(2026, 12, 18, 16, 30, tzinfo=UTC)


def test_maildir_arrival_is_the_files_delivery_time_and_a_dropped_file_keeps_its_own(
    tmp_path: Path,
) -> None:
    source = MaildirSource(tmp_path / "box")
    delivered = tmp_path / "box" / "new" / "1.host"
    delivered.write_bytes(_mail(1))
    dropped = tmp_path / "box" / "dropped.eml"
    dropped.write_bytes(_mail(2))
    for path, when in ((delivered, FRIDAY), (dropped, FRIDAY + timedelta(hours=1))):
        os.utime(path, (when.timestamp(), when.timestamp()))
    fetched = {f.raw: f.received_at for f in source.fetch_new()}
    assert fetched == {_mail(1): FRIDAY, _mail(2): FRIDAY + timedelta(hours=1)}


@pytest.mark.servers
def test_imap_arrival_is_the_internaldate(mailboxes) -> None:
    # Delivered into Dovecot's Maildir on Friday (its INTERNALDATE), read whenever.
    mailboxes.deliver("agent", _mail(1), FRIDAY)
    mailboxes.append("agent", _mail(2), msg_time=datetime(2025, 3, 4, 9, 15, tzinfo=UTC))
    source = _imap(mailboxes)
    try:
        fetched = {f.raw.replace(b"\r\n", b"\n"): f.received_at for f in source.fetch_new()}
    finally:
        source.close()
    assert fetched == {_mail(1): FRIDAY, _mail(2): datetime(2025, 3, 4, 9, 15, tzinfo=UTC)}
    assert all(when.tzinfo is UTC for when in fetched.values())


@pytest.mark.servers
def test_imap_news_already_in_the_read_buffer_is_not_slept_through(mailboxes) -> None:
    # When mail arrives as IDLE starts, Dovecot's "* 1 EXISTS" comes in the same packet as
    # its "+ idling" and lands in imaplib's read buffer, where polling the socket cannot see
    # it. Put it there on purpose: the wait must notice it, not sleep out its timeout.
    source = _imap(mailboxes)
    try:
        list(source.fetch_new())
        assert source.wait_for_mail(0.1) is False  # now idling
        mailboxes.deliver("agent", _mail(5), FRIDAY)
        reader = source._client._imap.file  # type: ignore[union-attr]
        assert reader.peek(1)  # blocks until the server's news arrives, then buffers it
        assert source.wait_for_mail(30) is True
        assert [f.uid for f in source.fetch_new()]
    finally:
        source.close()
