"""P3 scale: 100,000 open cases on SQLite and on PostgreSQL, and the commands that must not
grow with them.

The cases are the agent's own: it reads a small council's worth of escalations, replies and
decisions (a template of about forty cases, through the real pipeline on a clock moved by
hand), then bulk SQL copies them until 100,000 are open (bench/replicate.py). Each command
then runs in a fresh process (bench/probe.py): `sweep` with nothing due, `summary
--preview`, `report quarterly`, `report challenge-meeting`; then a thousand cases are moved
back two weeks, so that their stage deadline has passed, and `sweep` applies what is due.
Reply matching is timed in a process of its own.

Floors, measured in the same run on the same database: reading every open case's key
columns in one SQL query (what any pass over open cases costs at least), a join on a
Message-ID (what matching costs at least), and the memory of an interpreter that has only
imported mailagent.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import corpus
from bench.figures import Results, at_most
from bench.replicate import replicate, shift_back, spread_over_a_year
from bench.rig import VAR, Finished, import_floor, python, run_child
from tests.support import LONDON, make_settings, write_config

# The template's day: a Monday; the commands run three hours later, the due sweep two
# weeks on from the moved cases' deadlines.
OPENED = datetime(2026, 11, 2, 10, 0, tzinfo=LONDON)
NOW = OPENED + timedelta(hours=3)
DUE_SHIFT_DAYS = 14


@dataclass(frozen=True)
class Sizes:
    open_cases: int = 100_000
    due_cases: int = 1_000
    template_escalations: int = 40
    match_samples: int = 300


@dataclass(frozen=True)
class Caps:
    """Seconds each command may run before it is stopped and reported as missed."""

    sweep_nothing_due: float = 10.0
    sweep_due: float = 60.0
    report: float = 20.0
    match: float = 60.0


# -- the template ----------------------------------------------------------------------------


def build_template(url: str, work: Path, escalations: int) -> None:
    """A small council's cases, by the agent itself: escalations (some starting at stage 3 or
    4), commendations, then managers' responses, IRO decisions and a withdrawal."""
    import random

    from mailagent.app import build_agent
    from mailagent.clock import FixedClock
    from mailagent.runners.pipeline import run_once
    from tests.clients import gmail_reply, outlook_new, outlook_reply

    clock = FixedClock(OPENED)
    agent = build_agent(make_settings(work, database_url=url), clock=clock)
    inbox = work / "mailbox"
    inbox.mkdir(parents=True, exist_ok=True)
    rng = random.Random(3)
    opened = []
    for n in range(escalations):
        stage = {7: "3", 9: "4"}.get(n % 10)
        raw, expected = corpus.escalation(n, OPENED - timedelta(minutes=50 - n), rng, stage=stage)
        opened.append((raw, expected, stage))
        (inbox / f"e{n:04d}.eml").write_bytes(raw)
    for n in range(2):
        iro = corpus.IROS[n]
        (inbox / f"c{n}.eml").write_bytes(outlook_new(iro, "[COMMEND] Placement search", (
            "Team: North\nSocial worker: Sam Walker\nGood practice: Sam started the "
            "placement search the day it was agreed and kept the child informed.\n"
            "Impact on child: The child knew what was happening.\n"), at=OPENED))
    try:
        run_once(agent)
        clock.set(OPENED + timedelta(hours=1))
        for n, (raw, expected, stage) in enumerate(opened):
            at = OPENED + timedelta(minutes=30 + n)
            iro = corpus.IROS[n % len(corpus.IROS)]
            if n % 5 == 0:
                reply = gmail_reply(raw, iro, "#resolved\nOutcome: A plan was agreed.\n"
                                    "Learning: Agree plans at the review.", at=at)
            elif n == 3:
                reply = gmail_reply(raw, iro, "#withdraw raised in error", at=at)
            elif n % 4 == 1 and stage is None:
                manager = next(m for _t, m in corpus.TEAMS if expected.manager in m)
                reply = outlook_reply(raw, manager, "We will start on this today.", at=at)
            else:
                continue
            (inbox / f"r{n:04d}.eml").write_bytes(reply)
        run_once(agent)
    finally:
        agent.close()


# -- running it -------------------------------------------------------------------------------


def run(results: Results, sizes: Sizes, caps: Caps, urls: dict[str, str]) -> Path | None:
    """P3 on each database in `urls` (name -> SQLAlchemy URL); returns the SQLite config,
    for P4's command-line figures."""
    sqlite_config = None
    for name, url in urls.items():
        work = VAR / f"scale-{name}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        config = write_config(work)
        if not url:
            url = f"sqlite:///{work / 'db.sqlite'}"
        else:
            text = re.sub(r'(?m)^url = ".*"$', f'url = "{url}"', config.read_text(), count=1)
            config.write_text(text)
        if name == "sqlite":
            sqlite_config = config
        _one_database(results, name, url, config, work, sizes, caps)
    return sqlite_config


def _one_database(results: Results, name: str, url: str, config: Path, work: Path,
                  sizes: Sizes, caps: Caps) -> None:
    t0 = time.monotonic()
    build_template(url, work / "template", sizes.template_escalations)
    engine = sa.create_engine(url)
    open_now = _open_ids(engine)
    with engine.connect() as conn:
        template_top = conn.execute(sa.text('SELECT max(id) FROM "case"')).scalar() or 0
    copies = max(0, math.ceil(sizes.open_cases / max(1, len(open_now))) - 1)
    t1 = time.monotonic()
    rows = replicate(engine, copies)
    spread_over_a_year(engine, stride=template_top + 1)
    seeded = {"template_seconds": round(t1 - t0, 1),
              "copy_seconds": round(time.monotonic() - t1, 1),
              "template_open_cases": len(open_now), "copies": copies, "rows": rows,
              "open_cases": len(_open_ids(engine))}
    results.facts[f"p3_{name}_seed"] = seeded
    print(f"P3 {name}: {seeded['open_cases']:,} open of {rows.get('case', 0):,} cases seeded "
          f"in {seeded['template_seconds'] + seeded['copy_seconds']:.0f} s", flush=True)
    floor_s = _read_floor(engine)
    floor_mib = import_floor()
    now = NOW.isoformat()
    label = f"on {'SQLite' if name == 'sqlite' else 'PostgreSQL'}"

    def timed(figure: str, target: float, cap: float, *args: str) -> dict:
        done, probe = _probe(work, cap, f"{name} {figure}", *args, "--config", str(config))
        note = _note(done, probe, cap)
        value = None if done.capped or not probe else probe.get("seconds")
        results.add("P3", f"{figure} {label}", value, "s", f"<= {target:g} s", floor=floor_s,
                    floor_name="SQL read of open cases", check=at_most(target), note=note)
        peak = None if done.capped else (probe.get("peak_mib") or done.max_rss_mib or None)
        results.add("P3", f"{figure} {label}, peak RSS", peak, "MiB", "<= 100 MiB", floor=floor_mib,
                    floor_name="python + mailagent imported", check=at_most(100),
                    note="its command ran past the time cap" if done.capped else "")
        results.facts.setdefault(f"p3_{name}", {})[figure] = {
            "wall_seconds": round(done.seconds, 3),
            "capped": done.capped, "stdout_lines": len(done.stdout.splitlines()), **probe}
        return {"done": done, "probe": probe}

    timed("sweep, nothing due", 0.2, caps.sweep_nothing_due, "sweep", "--now", now, "--yes")
    timed("daily summary", 2, caps.report, "summary", "--preview", "--now", now, "--out",
          str(work / "summary.html"))
    timed("quarterly report", 2, caps.report, "report", "quarterly", "--quarter", "2026Q4",
          "--now", now, "--out", str(work / "quarterly.xlsx"))
    timed("challenge pack", 2, caps.report, "report", "challenge-meeting", "--month",
          "2026-11", "--now", now, "--out", str(work / "challenge.html"))
    _match(results, url, work, sizes, caps, label)

    due = [i for i in _open_ids(engine) if i > template_top][: sizes.due_cases]
    shift_back(engine, due, DUE_SHIFT_DAYS)
    events_before = _count(engine, "case_event")
    ran = timed(f"sweep applying {len(due):,} due steps", 10, caps.sweep_due, "sweep", "--now",
                now, "--yes")
    results.facts[f"p3_{name}"]["due sweep"] = {
        "cases_moved_back": len(due), "actions_printed": len(ran["done"].stdout.splitlines()),
        "events_written": _count(engine, "case_event") - events_before}
    engine.dispose()


def _match(results: Results, url: str, work: Path, sizes: Sizes, caps: Caps,
           label: str) -> None:
    done, probe = _probe(work, caps.match, f"{label} match", "--match", url,
                         str(sizes.match_samples))
    times = probe.get("times") or []
    floor = probe.get("floor") or []
    note = _note(done, probe, caps.match)
    if probe.get("wrong"):
        note = f"{probe['wrong']} matched wrongly"
    results.add("P3", f"matching a reply to its case {label}, p95",
                _p95(times) * 1000 if times else None, "ms", "<= 5 ms",
                floor=_p95(floor) * 1000 if floor else None, floor_name="SQL join on Message-ID",
                check=at_most(5), note=note)


def _probe(work: Path, cap: float, name: str, *args: str) -> tuple[Finished, dict]:
    """Run bench.probe in a fresh process; its JSON (and profile) are named after `name`."""
    out = work / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.json"
    out.unlink(missing_ok=True)
    first = [] if args[0] == "--match" else ["--"]
    done = run_child([python(), "-m", "bench.probe", str(out), *first, *args], cap_seconds=cap)
    probe = json.loads(out.read_text()) if out.exists() else {}
    return done, probe


def _note(done: Finished, probe: dict, cap: float) -> str:
    if done.capped:
        return f"stopped at the {cap:g} s cap"
    if done.returncode or probe.get("exit_code"):
        tail = (done.stderr.strip().splitlines() or ["?"])[-1][:80]
        return f"failed: {tail}"
    return ""


def _open_ids(engine: sa.Engine) -> list[int]:
    """Open cases on a ladder (those the sweep walks), oldest first."""
    query = ("SELECT id FROM \"case\" WHERE status = 'open' AND stage_deadline IS NOT NULL "
             "ORDER BY id")
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text(query))]


def _read_floor(engine: sa.Engine) -> float:
    """Seconds to read the key columns of every open case in one query (best of three)."""
    best = math.inf
    query = sa.text("SELECT id, ref, stage_id, stage_deadline, iro_email FROM \"case\" "
                    "WHERE status = 'open'")
    with engine.connect() as conn:
        for _ in range(3):
            t0 = time.perf_counter()
            conn.execute(query).all()
            best = min(best, time.perf_counter() - t0)
    return best


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar() or 0


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 \
        else values[0]
