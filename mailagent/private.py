"""Files that hold children's data are the service user's alone, whatever the umask says.

The data folder is 0700; the database (and SQLite's -wal and -shm files), stored mail,
sent mail, exports and reports are 0600. Three layers make that hold:

* `restrict_umask()` at the start of every command, so anything the process or a program it
  starts (Chromium printing a PDF) creates is private from the first byte;
* `private_dir` and `create_private` for the files we create ourselves, so the agent is
  private even when embedded in a process with a looser umask (the tests run under 022);
* `make_private` after a library wrote a file whose mode we do not choose.

`exposed` lists what others can read, for `mailagent status`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def restrict_umask() -> None:
    """Files and folders this process creates from now on are the owner's only."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter (its parents are created as usual)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def create_private(path: Path) -> Path:
    """Create `path` empty, readable and writable by its owner only (an existing file keeps
    its content and is made private)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write `data` to `path` (replacing it), mode 0600 from the first byte."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), FILE_MODE)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def make_private(path: Path) -> Path:
    """Make a file another program wrote readable by its owner only."""
    os.chmod(path, FILE_MODE)
    return path


def exposed(paths: Iterable[Path]) -> list[tuple[Path, int]]:
    """Each existing path that others may read or enter, with its mode (symlinks skipped)."""
    found: list[tuple[Path, int]] = []
    for path in paths:
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(path.lstat().st_mode)
            if not path.is_symlink() and mode & 0o077:
                found.append((path, mode))
    return found


def tree(path: Path) -> list[Path]:
    """A folder and everything in it (nothing if it does not exist)."""
    if not path.is_dir():
        return []
    with contextlib.suppress(OSError):
        return [path, *sorted(path.rglob("*"))]
    return [path]
