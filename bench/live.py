"""P1 latency, P2 backlog and P4's daemon soak: the agent's long-running job (a child
process, `python -m bench.daemon`) reading the project's Dovecot and sending by SMTP.

One daemon serves all three, in this order:

* P1: a backlog of open cases arrives at once (a burst of escalations); then escalations
  arrive one at a time, each APPENDed to the shared mailbox while the daemon idles in IDLE,
  and each is timed until both its acknowledgment (to the IRO) and its escalation (to the
  team manager) were accepted by the SMTP server. The floor: a bare imapclient client
  IDLEing on the same folder, timed from the same APPEND to Dovecot's EXISTS notice.
* P2: the mixed backlog is APPENDed at once; timed until the inbox is empty, every
  escalation's acknowledgment and escalation were accepted, and the sending has stopped.
  The floor: imapclient FETCH (BODY.PEEK[], in the agent's batch size) and the standard
  library's `policy.default` parse (headers and body) of the same messages, in the same run.
* P4 soak: more of the mix, in batches, until the daemon has read the soak's total; its
  resident memory sampled throughout.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench import corpus
from bench.corpus import Corpus, Expected
from bench.figures import Results, at_least_of_floor, at_most, at_most_above_floor, within
from bench.mailbox import IdleWatch, InboxCount, append, connect, read_floor
from bench.rig import VAR, Accepting, import_floor, python, rss_mib
from tests.servers import MailServers
from tests.support import imap_source, smtp_transport, write_config


@dataclass(frozen=True)
class Sizes:
    p1_backlog: int = 100
    p1_samples: int = 100
    p2_messages: int = 5_000
    soak_messages: int = 10_000  # P2's backlog counts towards it
    soak_batch: int = 500


@dataclass(frozen=True)
class Caps:
    """How long each step may take before the bench stops waiting and reports what it has."""

    start: float = 120.0
    p1_backlog: float = 120.0
    p1_each: float = 30.0
    p2: float = 240.0
    soak: float = 150.0


# -- the agent ------------------------------------------------------------------------------


class AgentProcess:
    """`python -m bench.daemon` with its memory sampled every 0.2 s."""

    def __init__(self, config: Path, start: str, env: dict[str, str], log: Path) -> None:
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [python(), "-m", "bench.daemon", str(config), start], stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=VAR.parents[1])
        self.samples: list[tuple[float, float]] = []  # (monotonic time, RSS MiB)
        self.peak = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2) and self.proc.poll() is None:
            rss, hwm = rss_mib(self.proc.pid)
            if rss:
                self.samples.append((time.monotonic(), rss))
                self.peak = max(self.peak, hwm)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, as systemd stops it; its exit code (None if it had to be killed)."""
        self._stop.set()
        self._sampler.join()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._log.close()
                return None
        self._log.close()
        return self.proc.returncode


# -- what the SMTP server accepted ------------------------------------------------------------


class Answers:
    """Which escalations have had both their acknowledgment and their escalation accepted."""

    def __init__(self, accepted: Accepting) -> None:
        self.accepted = accepted
        self._read = 0
        self._by_thread: dict[str, list[tuple[float, tuple[str, ...]]]] = defaultdict(list)

    def _catch_up(self) -> None:
        upto = len(self.accepted)
        for record in self.accepted[self._read:upto]:
            for message_id in record.answers:
                self._by_thread[message_id].append((record.at, record.rcpt_tos))
        self._read = upto

    def answered_at(self, expected: Expected) -> float | None:
        """When the later of the two was accepted, or None if one is still missing."""
        self._catch_up()
        sent = self._by_thread.get(expected.message_id, ())
        ack = [at for at, to in sent if expected.iro in to and expected.manager not in to]
        esc = [at for at, to in sent if expected.manager in to]
        return max(min(ack), min(esc)) if ack and esc else None

    def wait(self, expected: list[Expected], cap: float,
             also: Callable[[], bool] = lambda: True) -> tuple[int, float | None]:
        """Wait until all are answered (and `also` holds) or `cap` seconds pass; return how
        many were answered and when the last was."""
        deadline = time.monotonic() + cap
        pending = list(expected)
        last: float | None = None
        while True:
            still = []
            for item in pending:
                at = self.answered_at(item)
                if at is None:
                    still.append(item)
                else:
                    last = at if last is None else max(last, at)
            pending = still
            if (not pending and also()) or time.monotonic() >= deadline:
                return len(expected) - len(pending), last
            self.accepted.wait_for_more(len(self.accepted), timeout=0.2)


# -- the run ----------------------------------------------------------------------------------


def run(results: Results, servers: MailServers, accepted: Accepting, sizes: Sizes,
        caps: Caps) -> Corpus | None:
    """P1, P2 and the soak on one daemon; returns P2's mail (for the peer), if it ran."""
    work = VAR / "live"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = {**imap_source(servers), "poll_seconds": 60}  # the shipped default: IDLE wakes it
    config = write_config(work, source=source, transport=smtp_transport(servers))
    env = {**os.environ, "MAILAGENT_TEST_IMAP_PASSWORD": servers.password}
    start = corpus.working_day_morning()
    answers = Answers(accepted)
    agent = AgentProcess(config, start.isoformat(), env, work / "daemon.log")
    p2_mail: Corpus | None = None
    try:
        # Ready when it has answered a first escalation (its start-up is not P1's business).
        first = corpus.escalations(1, start=start - timedelta(minutes=30), first=0)
        append(servers, first)
        done, _ = answers.wait(first.escalations, caps.start)
        if not done:
            raise RuntimeError(f"the agent did not answer a first escalation within "
                               f"{caps.start:.0f} s; see {work / 'daemon.log'}")
        _p1(results, servers, answers, sizes, caps)
        p2_mail, p2_start = _p2(results, servers, answers, sizes, caps)
        _soak(results, servers, agent, sizes, caps, p2_start,
              results.facts["p2"]["handled"])
    finally:
        peak = agent.peak
        code = agent.stop()
    results.facts["daemon_exit_code_on_sigterm"] = code
    results.add("P4", "daemon peak RSS, whole run (P1, P2, soak)", peak or None, "MiB",
                "<= 70 MiB", check=at_most(70), floor=import_floor(),
                floor_name="python + mailagent imported")
    return p2_mail


def _p1(results: Results, servers: MailServers, answers: Answers, sizes: Sizes, caps: Caps
        ) -> None:
    t = corpus.working_day_morning()
    backlog = corpus.escalations(sizes.p1_backlog, start=t - timedelta(minutes=20), first=1)
    t0 = time.monotonic()
    append(servers, backlog)
    done, last = answers.wait(backlog.escalations, caps.p1_backlog)
    results.facts["p1_backlog"] = {
        "escalations": len(backlog), "answered": done,
        "seconds_until_all_answered": None if last is None else round(last - t0, 3)}

    watch = IdleWatch(servers)
    watch.start()
    samples = corpus.escalations(sizes.p1_samples, start=t - timedelta(minutes=10),
                                 first=1 + sizes.p1_backlog)
    latencies: list[float] = []
    floors: list[float] = []
    with connect(servers) as client:
        for i in range(len(samples)):
            time.sleep(0.3)  # mail does not arrive back to back; let the daemon idle again
            client.append("INBOX", samples.messages[i], msg_time=samples.dates[i])
            t0 = time.monotonic()
            done, last = answers.wait([samples.escalations[i]], caps.p1_each)
            floor = watch.first_after(t0 - 0.001)
            if done and last is not None:
                latencies.append(last - t0)
            if floor is not None:
                floors.append(floor)
    watch.stop()
    results.facts["p1"] = {"samples": len(samples), "answered": len(latencies),
                           "floor_samples": len(floors)}
    note = "" if len(latencies) == len(samples) else f"{len(latencies)}/{len(samples)} answered"
    for name, pick, extra in (("p50", 50, 0.050), ("p95", 95, 0.100)):
        value = _percentile(latencies, pick)
        floor = _percentile(floors, pick)
        results.add("P1", f"escalation APPENDed -> ack + escalation accepted, {name}", value,
                    "s", f"<= floor + {extra * 1000:.0f} ms", floor=floor,
                    floor_name="Dovecot IDLE notice", check=at_most_above_floor(extra),
                    note=note)


def _p2(results: Results, servers: MailServers, answers: Answers, sizes: Sizes, caps: Caps
        ) -> tuple[Corpus, float]:
    mail = p2_corpus(sizes)
    results.facts["p2_mix"] = mail.counts()
    floor = read_floor(servers, mail)
    count = InboxCount(servers)
    t0 = time.monotonic()
    append(servers, mail)
    appended = time.monotonic() - t0
    done, last = answers.wait(mail.escalations, caps.p2, also=lambda: count() == 0)
    waiting = count()
    end = time.monotonic()
    if not waiting and done == len(mail.escalations):
        # Everything is in: let the sending finish, then end at the last acceptance.
        quiet = len(answers.accepted)
        while True:
            answers.accepted.wait_for_more(quiet, timeout=2.0)
            if len(answers.accepted) == quiet:
                break
            quiet = len(answers.accepted)
        end = max(answers.accepted[-1].at, last or 0.0)
    count.close()
    handled = len(mail) - waiting
    seconds = end - t0
    results.facts["p2"] = {
        "messages": len(mail), "handled": handled, "escalations": len(mail.escalations),
        "escalations_answered": done, "seconds": round(seconds, 2),
        "append_seconds": round(appended, 2),
        "emails_accepted_during_p2": sum(1 for a in answers.accepted if a.at >= t0)}
    complete = handled == len(mail) and done == len(mail.escalations)
    note = "" if complete else (f"stopped at {caps.p2:.0f} s: {handled}/{len(mail)} read, "
                                f"{done}/{len(mail.escalations)} escalations answered")
    results.add("P2", f"backlog of {len(mail):,} mixed messages, all handled and answered",
                handled / seconds if seconds else None, "msg/s", ">= 0.5 x floor",
                floor=floor, floor_name="FETCH + stdlib parse", check=at_least_of_floor(0.5),
                note=note)
    return mail, t0


def p2_corpus(sizes: Sizes) -> Corpus:
    t = corpus.working_day_morning()
    return corpus.build(sizes.p2_messages, start=t - timedelta(hours=2), first=10_000, seed=2)


def _soak(results: Results, servers: MailServers, agent: AgentProcess, sizes: Sizes,
          caps: Caps, since: float, p2_handled: int) -> None:
    """More of the mix in batches until the soak's total (P2's backlog counts) is read."""
    more = max(0, sizes.soak_messages - sizes.p2_messages)
    t = corpus.working_day_morning()
    mail = corpus.build(more, start=t - timedelta(hours=1), first=50_000, seed=3)
    count = InboxCount(servers)
    waiting = count()  # what P2 left, if it was stopped at its cap
    t0 = time.monotonic()
    deadline = t0 + caps.soak
    sent = 0
    while sent < len(mail) and time.monotonic() < deadline:
        if count() == 0:
            batch = min(sizes.soak_batch, len(mail) - sent)
            append(servers, mail, sent, sent + batch)
            sent += batch
        time.sleep(0.2)
    while count() and time.monotonic() < deadline:
        time.sleep(0.2)
    read = waiting + sent - count()
    count.close()
    rss = [r for at, r in agent.samples if at >= since]  # from P2's backlog on
    total = p2_handled + read
    target = sizes.p2_messages + len(mail)
    note = "" if total >= target else f"stopped at {caps.soak:.0f} s: {total:,} of {target:,} read"
    results.facts["soak"] = {"messages_after_p2": len(mail), "read": read,
                             "seconds": round(time.monotonic() - t0, 1)}
    # Flat: every sample after the first tenth of the soak within 10% of the level then.
    spread = None
    if len(rss) >= 10:
        settled = rss[len(rss) // 10:]
        spread = max((r - settled[0] for r in settled), key=abs) / settled[0] * 100
    results.add("P4", f"daemon RSS flatness over {total:,} messages", spread, "%", "within 10 %",
                check=within(10), note=note)
    if rss:
        results.facts["soak"]["rss_mib_first_last_max"] = [round(rss[0], 1), round(rss[-1], 1),
                                                          round(max(rss), 1)]


def _percentile(values: list[float], pick: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pick - 1]
