"""P4: the peak memory of every `mailagent` command, each in a fresh process, on P3's SQLite
database of 100,000 open cases (the commands P3 times are reported there, with their
memory; this adds the rest). The floor: an interpreter that has only imported mailagent."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

from bench import corpus
from bench.figures import Figure, Results, at_most
from bench.rig import VAR, import_floor, python, run_child
from mailagent.config import load_settings

CAP_SECONDS = 60.0
TARGET_MIB = 100


def run(results: Results, config: Path, cap: float = CAP_SECONDS) -> None:
    work = VAR / "commands"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    mailagent = str(Path(python()).with_name("mailagent"))  # this checkout's command
    email = work / "escalation.eml"
    email.write_bytes(corpus.build(1, start=corpus.working_day_morning()).messages[0])
    ref = _a_case_ref(config)
    cfg = ["--config", str(config)]
    commands = [
        ["status", *cfg],
        ["rules", "check", *cfg],
        ["inspect", str(email), *cfg],
        ["deadline", "2026-12-18", "--working-days", "5", *cfg],
        ["db", "upgrade", *cfg],
        ["run", "--once", *cfg],
        ["sweep", "--dry-run", "--now", "2026-11-02T13:00:00+00:00", *cfg],
        ["case", "export", ref, "--out", str(work / "case.html"), *cfg],
        ["case", "export", ref, "--out", str(work / "case.json"), *cfg],
        ["case", "export", ref, "--out", str(work / "case.pdf"), *cfg],
        ["demo", "--dir", str(work / "demo")],
        ["init", str(work / "init")],
    ]
    floor = import_floor()
    for args in commands:
        done = run_child([mailagent, *args], cap_seconds=cap)
        shown = " ".join(Path(a).name if a.startswith(str(VAR)) else a for a in args
                         if a not in (str(config), "--config"))
        note = ""
        if done.capped:
            note = f"stopped at the {cap:g} s cap"
        elif done.returncode:
            note = f"exit {done.returncode}: " + (done.stderr.strip().splitlines() or ["?"])[-1]
        if done.children_rss_mib:
            # The issue counts the PDF export with its browser: the larger of the two.
            note = (note + "; " if note else "") + (
                f"mailagent {done.max_rss_mib:.0f} MiB, its child (Chromium) "
                f"{done.children_rss_mib:.0f} MiB")
        peak = max(done.max_rss_mib, done.children_rss_mib)
        results.add("P4", f"mailagent {shown}, peak RSS", peak or None, "MiB",
                    f"<= {TARGET_MIB} MiB", floor=floor, floor_name="python + mailagent imported",
                    check=at_most(TARGET_MIB), note=note[:100])
        results.facts.setdefault("p4_commands", {})[shown] = {
            "seconds": round(done.seconds, 2), "max_rss_mib": round(done.max_rss_mib, 1),
            "children_max_rss_mib": round(done.children_rss_mib, 1), "exit": done.returncode}
    largest = max((f for f in results.figures if f.unit == "MiB" and "RSS" in f.name
                   and f.value is not None and "daemon" not in f.name),
                  key=lambda f: f.value or 0.0, default=None)
    if largest is not None:
        results.add("P4", f"every command: the largest ({_short(largest)})", largest.value,
                    "MiB", f"<= {TARGET_MIB} MiB", floor=floor,
                    floor_name="python + mailagent imported", check=at_most(TARGET_MIB))


def _short(figure: Figure) -> str:
    return figure.name.removesuffix(", peak RSS").removeprefix("mailagent ")[:40]


def _a_case_ref(config: Path) -> str:
    """An escalation of the template (not a copy: copies keep no email bytes)."""
    engine = sa.create_engine(load_settings(config).database.url)
    with engine.connect() as conn:
        ref = conn.execute(sa.text(
            "SELECT ref FROM \"case\" WHERE kind = 'escalation' ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    return str(ref)
