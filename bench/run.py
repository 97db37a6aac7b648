"""Benchmarks: how fast mailagent reads mail, as ratios to a floor measured in the same run.

Run: .venv/bin/python bench/run.py [--messages N]

The floor is the standard library's fastest parse (email.message_from_bytes with the
compat32 policy) of the same messages on the same machine, so the ratios say how much our
own steps cost and stay comparable across machines. Targets (checked here, never in tests):

    parse + classify          at least 0.10 x the floor's messages per second
    whole pass (Maildir -> SQLite -> files), per message
                              at least 0.005 x the floor (each escalation opens a case
                              and composes three emails; a busy council mailbox gets a
                              few hundred emails a day, so this is days of mail a minute)
    memory while parsing      under 64 KiB retained per message
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailagent import shipped  # noqa: E402
from mailagent.mail.classify import classify  # noqa: E402
from mailagent.mail.parse import parse_message  # noqa: E402
from mailagent.policy.vocabulary import load_vocabulary  # noqa: E402
from tests.support import ESCALATION_BODY, email_bytes  # noqa: E402

TARGETS = {"parse+classify": 0.10, "whole pass": 0.005}
MEMORY_TARGET_KIB = 64


def corpus(n: int) -> list[bytes]:
    """Realistic mail: tagged escalations with HTML, and Outlook-style replies."""
    out = []
    for i in range(n):
        body = ESCALATION_BODY.replace("123456", f"{100000 + i}")
        if i % 2:
            out.append(email_bytes(
                sender="Tara Moss <tm1@example.test>", subject=f"RE: [ESC-2026-{i:04d}] Stage",
                body="We will start the search today.\n\nFrom: IRO Escalations\nSent: today\n"
                     + "> " + body.replace("\n", "\n> "),
                in_reply_to=f"<m{i}@example.test>",
                html="<html><body><p>We will start the search today.</p>"
                     "<div id=divRplyFwdMsg><p>From: IRO</p></div>" + "<p>x</p>" * 40
                     + "</body></html>"))
        else:
            out.append(email_bytes(sender="Irene Reed <iro1@example.test>",
                                   subject=f"[ESCALATE] case {i}", body=body,
                                   html="<p>" + body.replace("\n", "<br>") + "</p>"))
    return out


def rate(fn, items) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def whole_pass_rate(messages: list[bytes]) -> float:
    from mailagent.app import build_agent
    from mailagent.clock import FixedClock
    from mailagent.config import default_settings
    from mailagent.runners.pipeline import run_once

    work = Path(tempfile.mkdtemp(prefix="mailagent-bench-"))
    try:
        agent = build_agent(default_settings(work),
                            clock=FixedClock(datetime(2026, 12, 1, 10, tzinfo=ZoneInfo(
                                "Europe/London"))))
        inbox = work / "mailbox"
        for i, raw in enumerate(messages):
            (inbox / f"{i:06d}.eml").write_bytes(raw)
        start = time.perf_counter()
        report = run_once(agent)
        elapsed = time.perf_counter() - start
        agent.close()
        assert report.fetched == len(messages), report
        return len(messages) / elapsed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    args = parser.parse_args()
    messages = corpus(args.messages)
    vocab = load_vocabulary(shipped.rules_dir())

    floor = rate(lambda raw: message_from_bytes(raw, policy=policy.compat32), messages)
    ours = rate(lambda raw: classify(parse_message(raw), vocab), messages)
    whole = whole_pass_rate(messages[: max(50, args.messages // 4)])

    tracemalloc.start()
    kept = [parse_message(raw) for raw in messages]
    retained, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_message_kib = retained / len(kept) / 1024

    rows = [
        ("floor: stdlib compat32 parse", floor, 1.0, None),
        ("parse+classify", ours, ours / floor, TARGETS["parse+classify"]),
        ("whole pass", whole, whole / floor, TARGETS["whole pass"]),
    ]
    print(f"{len(messages)} messages; rates in messages per second")
    print(f"{'step':<32}{'msg/s':>10}{'x floor':>10}{'target':>10}  verdict")
    failed = False
    for name, value, ratio, target in rows:
        verdict = "" if target is None else ("ok" if ratio >= target else "BELOW TARGET")
        failed |= verdict == "BELOW TARGET"
        shown = "" if target is None else f"{target:.3f}"
        print(f"{name:<32}{value:>10.0f}{ratio:>10.3f}{shown:>10}  {verdict}")
    mem_verdict = "ok" if per_message_kib <= MEMORY_TARGET_KIB else "ABOVE TARGET"
    failed |= mem_verdict != "ok"
    print(f"{'memory retained per parsed msg':<32}{per_message_kib:>9.1f}K"
          f"{'':>10}{MEMORY_TARGET_KIB:>9}K  {mem_verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
