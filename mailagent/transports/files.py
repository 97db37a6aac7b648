"""The embedded default transport: sent mail is written to a local Maildir.

The file name comes from the Message-ID, so writing the same message again replaces it
rather than making a second copy: a retry after a crash cannot duplicate a send.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mailagent.private import private_dir, write_private
from mailagent.transports.base import TemporaryFailure


class FilesTransport:
    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path)
        for sub in ("tmp", "new", "cur"):
            private_dir(path / sub)

    def send(self, sender: str, recipients: list[str], raw: bytes, message_id: str) -> None:
        name = hashlib.sha256(message_id.encode()).hexdigest()[:32]
        tmp = self.path / "tmp" / name
        try:
            write_private(tmp, raw)
            os.replace(tmp, self.path / "new" / f"{name}.eml")
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to {self.path}: {exc.strerror}") from exc

    def close(self) -> None:
        return None
