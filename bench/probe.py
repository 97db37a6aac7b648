"""`python -m bench.probe OUT.json -- MAILAGENT ARGS...`: run one `mailagent` command in this
fresh process and time it from the moment its agent is built (config read, database opened,
rules loaded) to its end, so the figure is the command's work, not Python's start-up.

`python -m bench.probe OUT.json --match DATABASE_URL N`: match N replies to their cases,
each in a session of its own as the pipeline does, and time each.

The process's peak RSS is read by the caller (wait4), so each figure comes from a fresh
process. Writes its timings as JSON to OUT.json.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any


def command(args: list[str]) -> dict[str, Any]:
    import click

    import mailagent.cli.common as common
    import mailagent.cli.main as cli

    built: list[float] = []
    real_open = common.open_agent

    def open_agent(*a: Any, **kw: Any) -> Any:
        agent = real_open(*a, **kw)
        built.append(time.perf_counter())
        return agent

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("mailagent.cli") and \
                getattr(module, "open_agent", None) is real_open:
            module.open_agent = open_agent  # type: ignore[attr-defined]
    start = time.perf_counter()
    code: Any = 0
    try:
        code = cli.app(args, standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code
    end = time.perf_counter()
    return {"exit_code": code or 0, "command_seconds": end - start,
            "seconds": end - (built[0] if built else start), "agent_built": bool(built)}


def match(url: str, count: int) -> dict[str, Any]:
    """Replies from each case's IRO, by the thread of an email we sent on the case."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from mailagent.cases.match import match_case
    from mailagent.store.db import create_db_engine

    engine = create_db_engine(url)
    with engine.connect() as conn:
        top = conn.execute(sa.text("SELECT max(id) FROM \"case\"")).scalar() or 0
        picks = []
        rng = random.Random(5)
        while len(picks) < count:
            row = conn.execute(sa.text(
                "SELECT m.message_id, c.iro_email, c.id FROM message_ref m "
                "JOIN \"case\" c ON c.id = m.case_id WHERE m.direction = 'out' "
                "AND c.id >= :at ORDER BY c.id LIMIT 1"), {"at": rng.randint(1, top)}).first()
            if row is not None:
                picks.append(row)
        floor = []
        lookup = sa.text("SELECT c.* FROM message_ref m JOIN \"case\" c ON c.id = m.case_id "
                         "WHERE m.message_id = :m")
        for message_id, _iro, _case in picks:
            t0 = time.perf_counter()
            conn.execute(lookup, {"m": message_id}).first()
            floor.append(time.perf_counter() - t0)
    times, wrong = [], 0
    for message_id, iro, case_id in picks:
        t0 = time.perf_counter()
        with Session(engine) as session:
            found = match_case(session, sender=iro, message_ids=[message_id], marker_ref=None,
                               subject_ref=None, conversation=None, child_ref=None)
        times.append(time.perf_counter() - t0)
        wrong += found is None or found.case.id != case_id
    return {"times": times, "floor": floor, "wrong": wrong}


def main(argv: list[str]) -> None:
    from bench.profiling import profiled

    out = Path(argv[0])
    with profiled(out.stem):
        if argv[1] == "--match":
            result = match(argv[2], int(argv[3]))
        else:
            result = command(argv[2:] if argv[1] == "--" else argv[1:])
    result["peak_mib"] = peak_mib()
    out.write_text(json.dumps(result))


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM; exact, unlike a parent's wait4)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
