"""`python -m bench`: the performance figures of issue 18, each beside its target and a floor
measured in the same run, against the project's own Dovecot and SMTP server.

    .venv/bin/python -m bench            the issue's sizes (about 10 minutes on 2 cores)
    .venv/bin/python -m bench --quick    small sizes, a minute or two: does the harness run?
    .venv/bin/python -m bench --peer     also django-helpdesk on the same backlog
    .venv/bin/python -m bench --only live,scale,cli

Ports come from MAILSERVERS_IMAP_PORT, MAILSERVERS_LMTP_PORT and MAILAGENT_POSTGRES_PORT, as
for the tests. Writes bench/results/latest.json (or --out) and its table as Markdown beside
it; `--readme` copies that table into README's Benchmarks section. Each step has a time cap:
a step that would run past it is stopped and reported as missed, with what it had done.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from bench import commands, figures, live, scale
from bench.corpus import Corpus
from bench.figures import Results
from bench.rig import REPO, VAR, Accepting, machine, mail_servers
from tests.servers import MailServers

T = TypeVar("T")

SECTIONS = ("live", "scale", "cli", "peer")
DEFAULT = ("live", "scale", "cli")
RESULTS = REPO / "bench" / "results" / "latest.json"


def main() -> int:
    args = _parser().parse_args()
    if args.readme:
        update_readme(args.out)
        return 0
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if args.peer:
        only.add("peer")
    unknown = only - set(SECTIONS)
    if unknown:
        raise SystemExit(f"--only: unknown section(s) {', '.join(sorted(unknown))}")
    if args.profile:
        os.environ["BENCH_PROFILE_DIR"] = str(VAR / "profiles")  # the children inherit it

    live_sizes, scale_sizes = live.Sizes(), scale.Sizes()
    if args.quick:
        live_sizes = live.Sizes(p1_backlog=10, p1_samples=10, p2_messages=300,
                                soak_messages=600, soak_batch=150)
        scale_sizes = scale.Sizes(open_cases=2_000, due_cases=100, match_samples=100)
    if args.messages:
        live_sizes = replace(live_sizes, p2_messages=args.messages,
                             soak_messages=max(live_sizes.soak_messages, args.messages))
    if args.cases:
        scale_sizes = replace(scale_sizes, open_cases=args.cases,
                              due_cases=min(scale_sizes.due_cases, args.cases // 10))
    live_caps = _scaled(live.Caps(), args.cap_factor)
    scale_caps = _scaled(scale.Caps(), args.cap_factor)

    results = Results()
    results.facts.update(
        started=datetime.now(UTC).isoformat(timespec="seconds"), quick=args.quick,
        machine=machine(), sections=sorted(only), live_sizes=asdict(live_sizes),
        scale_sizes=asdict(scale_sizes), cap_factor=args.cap_factor)
    began = time.monotonic()
    print(_header(), flush=True)
    with contextlib.ExitStack() as stack:
        if only & {"live", "peer"}:
            servers, accepted = stack.enter_context(mail_servers())
            p2_mail = None
            if "live" in only:
                p2_mail = live.run(results, servers, accepted, live_sizes, live_caps)
            if "peer" in only:
                _peer(results, servers, accepted, live_sizes, p2_mail, args.cap_factor)
        if only & {"scale", "cli"}:
            urls: dict[str, str] = {}
            for db in args.db.split(","):
                if db not in ("sqlite", "postgresql"):
                    raise SystemExit(f"--db: {db!r} is neither sqlite nor postgresql")
                urls[db] = "" if db == "sqlite" else stack.enter_context(postgres_database())
            sqlite_config = scale.run(results, scale_sizes, scale_caps, urls)
            if "cli" in only and sqlite_config is not None:
                commands.run(results, sqlite_config, cap=commands.CAP_SECONDS * args.cap_factor)
    results.facts["seconds"] = round(time.monotonic() - began, 1)
    results.write(args.out)
    args.out.with_suffix(".md").write_text(table(results.to_json()) + "\n")
    shown = args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out
    print(f"\n{len(results.figures)} figures in {results.facts['seconds']:.0f} s; wrote {shown}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick check")
    parser.add_argument("--peer", action="store_true",
                        help="also run django-helpdesk on P2's backlog (installs it under var/)")
    parser.add_argument("--only", default=",".join(DEFAULT),
                        help=f"comma-separated sections to run: {', '.join(SECTIONS)}")
    parser.add_argument("--db", default="sqlite,postgresql",
                        help="P3's databases, comma-separated: sqlite, postgresql")
    parser.add_argument("--messages", type=int, help="P2's backlog size (default 5,000)")
    parser.add_argument("--cases", type=int, help="P3's open cases (default 100,000)")
    parser.add_argument("--cap-factor", type=float, default=1.0,
                        help="multiply every step's time cap (e.g. 10 to profile slow code)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the daemon and each probe into var/bench/profiles/")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--readme", action="store_true",
                        help="copy the table of --out into README.md, then exit")
    return parser


def _scaled(caps: T, factor: float) -> T:
    return replace(caps, **{f.name: getattr(caps, f.name) * factor for f in fields(caps)})  # type: ignore[type-var]


def _peer(results: Results, servers: MailServers, accepted: Accepting, sizes: live.Sizes,
          mail: Corpus | None, cap_factor: float) -> None:
    from bench import mailbox, peer

    floor = next((f.floor for f in results.figures if f.section == "P2"), None)
    if mail is None:
        mail = live.p2_corpus(sizes)
        floor = mailbox.read_floor(servers, mail)
    peer.run(results, servers, accepted, mail, floor, cap=peer.CAP_SECONDS * cap_factor)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the project's private PostgreSQL (scripts/postgres.sh)."""
    from sqlalchemy.engine import make_url

    from tests.servers import POSTGRES_SH, _admin_connect, _parse_exports, _run

    env = dict(os.environ)
    url = env.get("MAILAGENT_TEST_POSTGRES_URL")
    if not url:
        _run(POSTGRES_SH, "start", env=env)
        url = _parse_exports(_run(POSTGRES_SH, "env", env=env))["MAILAGENT_TEST_POSTGRES_URL"]
    name = "mailagent_bench"
    with _admin_connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(url).set(database=name).render_as_string(hide_password=False)


def _header() -> str:
    return (f"{'':<5} {'figure':<60} {'value':>12}  {'target':<20} {'floor (same run)':<36} "
            f"{'ratio':>7}")


def table(data: dict) -> str:
    """The Markdown table, under a line saying when and on what it ran."""
    facts = data["facts"]
    m = facts.get("machine", {})
    load = ", ".join(str(x) for x in m.get("load_average_at_start", []))
    head = (f"Run {facts.get('started', '?')}{' (--quick)' if facts.get('quick') else ''}, "
            f"{facts.get('seconds', '?')} s, on {m.get('cores', '?')} cores "
            f"({m.get('cpu', '?')}), {m.get('memory_gib', '?')} GiB, {m.get('os', '?')}, "
            f"Python {m.get('python', '?')}; load average at start {load}.")
    return head + "\n\n" + figures.markdown(data)


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def update_readme(path: Path) -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} block to replace")
    data = json.loads(path.read_text())
    before, rest = text.split(BEGIN, 1)
    _old, after = rest.split(END, 1)
    readme.write_text(f"{before}{BEGIN}\n{table(data)}\n{END}{after}")
    print(f"README.md: Benchmarks table from {path}")


if __name__ == "__main__":
    raise SystemExit(main())
