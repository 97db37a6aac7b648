"""The embedded default mailbox: a local Maildir that a person can drop .eml files into.

Any file put in the Maildir's `new/` or `cur/` folder, or a `*.eml` file put straight into
the Maildir's own folder, is read. Processed mail goes to the `.Processed` sub-folder and
quarantined mail to `.Quarantine` (Maildir++ layout, so a mail client can open all three).

A message's delivery time is its file's modification time, as Maildir readers (Dovecot,
Python's `mailbox`) take it; a `.eml` file dropped in keeps the time it was dropped.
"""

from __future__ import annotations

import mailbox
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from mailagent.private import make_private, private_dir
from mailagent.sources.base import FetchedMessage

PROCESSED = "Processed"
QUARANTINE = "Quarantine"


class MaildirSource:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"maildir:{path}"
        # A person may make the folder by hand and drop files in: give it the Maildir layout,
        # private, since the mail in it is about children.
        private_dir(path)
        for sub in ("new", "cur", "tmp"):
            private_dir(path / sub)
        self._box = mailbox.Maildir(path, create=True)
        self._folders = {
            name: self._box.add_folder(name) for name in (PROCESSED, QUARANTINE)
        }
        for name in (PROCESSED, QUARANTINE):
            private_dir(path / f".{name}")
            make_private(path / f".{name}" / "maildirfolder")

    def fetch_new(self) -> Iterator[FetchedMessage]:
        self._adopt_dropped_files()
        # Maildir keys start with the delivery time, so sorting gives arrival order.
        for key in sorted(self._box.keys()):
            try:
                raw = self._box.get_bytes(key)
                delivered = self._delivered_at(key)
            except (KeyError, FileNotFoundError):  # moved away by someone else meanwhile
                continue
            yield FetchedMessage(uid=key, raw=raw, received_at=delivered)

    def mark_processed(self, uid: str) -> None:
        self._move(uid, PROCESSED)

    def quarantine(self, uid: str) -> None:
        self._move(uid, QUARANTINE)

    def wait_for_mail(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pending():
                return True
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        return self._pending()

    def close(self) -> None:
        self._box.close()

    def _pending(self) -> bool:
        return any(self.path.glob("*.eml")) or any((self.path / "new").iterdir())

    def _delivered_at(self, key: str) -> datetime:
        # `_lookup` gives the file's place under the Maildir (new/ or cur/, with its flags);
        # the mailbox module reads a message's delivery date from the same file's mtime.
        mtime = os.path.getmtime(self.path / self._box._lookup(key))
        return datetime.fromtimestamp(mtime, UTC)

    def _adopt_dropped_files(self) -> None:
        for dropped in sorted(self.path.glob("*.eml")):
            dropped_at = dropped.stat().st_mtime
            with dropped.open("rb") as handle:
                key = self._box.add(handle)
            make_private(self.path / "new" / key)
            os.utime(self.path / "new" / key, (dropped_at, dropped_at))
            dropped.unlink()

    def _move(self, uid: str, folder: str) -> None:
        try:
            raw = self._box.get_bytes(uid)
        except KeyError:
            return  # already filed: moving is idempotent
        key = self._folders[folder].add(raw)
        # mailbox writes with the process umask: the stored copy must be private regardless.
        make_private(self.path / f".{folder}" / "new" / key)
        self._box.discard(uid)
