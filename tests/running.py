"""The long-running job in a test: `run_forever` on a thread, and waiting for what it does.

The daemon writes what it is doing to daemon.json (for `mailagent status`); tests wait on
that rather than sleeping, and stop it through `agent.stopping`, as SIGTERM does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mailagent.app import Agent
from mailagent.runners.daemon import run_forever


@contextmanager
def daemon_running(agent: Agent, **options: Any) -> Iterator[threading.Thread]:
    """The daemon in a thread, idling, until the block ends; then it must stop cleanly."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            run_forever(agent, install_signals=False, **options)
        except BaseException as exc:  # surfaced below, in the test's own thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="daemon", daemon=True)
    thread.start()
    try:
        wait_until(lambda: doing(agent) == "waiting for mail", 10, "the daemon to idle")
        yield thread
    finally:
        agent.stopping.set()
        thread.join(10)
        agent.close()
    assert not thread.is_alive(), "the daemon did not stop within 10 s"
    assert not failure, failure


def doing(agent: Agent) -> str | None:
    """What the daemon says it is doing (daemon.json), or None before it has said."""
    try:
        state = json.loads((Path(agent.settings.agent.data_dir) / "daemon.json").read_text())
    except (OSError, ValueError):
        return None
    return state.get("doing")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `condition` until it holds; return how long that took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start
