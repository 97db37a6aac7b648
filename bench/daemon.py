"""`python -m bench.daemon CONFIG START`: the agent's long-running job, as `mailagent run`
runs it, on a clock that reads START (an ISO instant in working hours) when the process
starts and then runs at real speed, so every email may go out at once whatever the hour of
the bench."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.profiling import profiled
from mailagent.app import build_agent
from mailagent.cli.common import settings_from, setup_logging
from mailagent.clock import to_utc
from mailagent.runners.daemon import run_forever


class RunningClock:
    """Starts at a pinned instant and moves at the speed of the real one."""

    def __init__(self, start: datetime) -> None:
        self._start, self._t0 = to_utc(start), time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


def main(config: str, start: str) -> None:
    settings = settings_from(Path(config))
    setup_logging(settings)
    agent = build_agent(settings, clock=RunningClock(datetime.fromisoformat(start)))
    try:
        with profiled("daemon"):
            run_forever(agent)
    finally:
        agent.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
