"""What the long-running job is doing, in `daemon.json` in the data folder, for `mailagent
status`: its pid, its activity and since when, and when it last read the mailbox."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

STATE_FILE = "daemon.json"

class StateFile:
    """A small JSON file: pid, what the daemon is doing since when, when it last read the
    mailbox. Written on each change of activity (not on every wait), replaced atomically."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self._state: dict[str, object] = {
            "pid": os.getpid(), "source": source, "started_at": _now(),
            "doing": "starting", "since": _now(), "last_heard": None,
        }

    def update(self, doing: str, *, heard: bool = False) -> None:
        changed = doing != self._state["doing"]
        if changed:
            self._state.update(doing=doing, since=_now())
        if heard:
            self._state["last_heard"] = _now()
        if changed or heard:
            self._write()

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._state), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # the state file is a courtesy; never stop work for it
            log.debug("cannot write %s: %s", self.path, exc.strerror)


def describe_daemon(path: Path) -> list[str]:
    """Lines for `mailagent status`: whether the daemon runs and what it is doing."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["daemon:         not started here yet"]
    pid = int(state.get("pid", 0))
    running = state.get("doing") != "stopped" and _alive(pid)
    if not running:
        return [f"daemon:         not running (last: {state.get('doing')} at {state.get('since')})"]
    return [
        f"daemon:         running (pid {pid}, since {state.get('started_at')})",
        f"doing:          {state.get('doing')} (since {state.get('since')})",
        f"last read:      {state.get('last_heard') or 'not yet'}",
    ]


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
