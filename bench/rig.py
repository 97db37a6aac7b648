"""The benchmark's rig: the project's own Dovecot and SMTP server (tests/servers.py), a
record of what the SMTP server accepted and when, and the measuring of child processes.

The SMTP server is the test suite's aiosmtpd server with one change: it accepts a message
without handing it on to Dovecot by LMTP, as a mail server's queue accepts it, so the
agent's sending is measured rather than Dovecot's delivery. Every accepted message is kept
as a small `Accepted` record (when, from, to, the Message-IDs it answers), never its bytes,
so a run of tens of thousands of emails keeps the bench itself small.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from tests.servers import Envelope, MailServers, _LmtpBridge, running_mail_servers

REPO = Path(__file__).resolve().parents[1]
VAR = REPO / "var" / "bench"
_HEADERS = BytesHeaderParser()


@dataclass(frozen=True)
class Accepted:
    """One message the SMTP server accepted: when (time.monotonic()), by whom, for whom."""

    at: float
    mail_from: str
    rcpt_tos: tuple[str, ...]
    answers: tuple[str, ...]  # In-Reply-To and References: the thread it belongs to
    subject: str


class Accepting(list):  # type: ignore[type-arg]
    """Stands in for the SMTP server's list of envelopes: keeps an `Accepted` for each, and
    wakes whoever waits for mail."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def append(self, envelope: Envelope) -> None:  # type: ignore[override]
        at = time.monotonic()
        head = _HEADERS.parsebytes(envelope.data)
        answers = " ".join(str(head.get(h, "")) for h in ("In-Reply-To", "References"))
        record = Accepted(at, envelope.mail_from.lower(),
                          tuple(r.lower() for r in envelope.rcpt_tos),
                          tuple(answers.split()), str(head.get("Subject", "")))
        with self.changed:
            super().append(record)
            self.changed.notify_all()

    def wait_for_more(self, seen: int, timeout: float) -> None:
        """Return once more than `seen` records are kept, or after `timeout` seconds."""
        with self.changed:
            self.changed.wait_for(lambda: len(self) > seen, timeout=timeout)


class _Accept(_LmtpBridge):
    """The test suite's SMTP handler, accepting each message without delivering it."""

    def _deliver(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
        return None


@contextlib.contextmanager
def mail_servers() -> Iterator[tuple[MailServers, Accepting]]:
    """Dovecot on this checkout's ports (MAILSERVERS_IMAP_PORT...) and the accepting SMTP
    server; the agent's and the peer's mailboxes emptied first."""
    accepted = Accepting()
    # The test suite's server says these once per message; the bench sends thousands.
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd: login_data deprecated
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    with running_mail_servers(dict(os.environ), handler=_Accept, envelopes=accepted) as servers:
        servers.clean()
        yield servers, accepted


# -- child processes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """A child process that ended (or was stopped at its time cap)."""

    returncode: int | None  # None: stopped at the cap
    seconds: float
    max_rss_mib: float  # its own peak resident memory (VmHWM), sampled while it ran
    children_rss_mib: float  # the largest peak among its own children (e.g. Chromium)
    stdout: str
    stderr: str

    @property
    def capped(self) -> bool:
        return self.returncode is None


def run_child(args: Sequence[str], *, cap_seconds: float, env: dict[str, str] | None = None,
              cwd: Path = REPO) -> Finished:
    """Run a command to its end, or stop it at `cap_seconds`.

    Its peak memory is read from /proc while it runs, not from wait4: the kernel's
    ru_maxrss of a child counts the pages of the parent it was forked from (this process,
    with the bench's own hundred MB), so it would never show less than that.
    """
    out, err = VAR / f"child-{os.getpid()}.out", VAR / f"child-{os.getpid()}.err"
    VAR.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    own = children = 0.0
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(list(args), stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, env=env, cwd=cwd, start_new_session=True)
        capped = False
        while proc.poll() is None:
            own = max(own, rss_mib(proc.pid)[1])
            children = max([children, *(rss_mib(c)[1] for c in _children(proc.pid))])
            if time.monotonic() - start > cap_seconds and not capped:
                capped = True
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.005)
    seconds = time.monotonic() - start
    return Finished(None if capped else proc.returncode, seconds, own, children,
                    out.read_text(errors="replace"), err.read_text(errors="replace"))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [int(child), *_children(int(child))]
    return found


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a running process, in MiB."""
    fields: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


_IMPORT_FLOOR: list[float] = []


def import_floor() -> float:
    """Peak RSS of an interpreter that imported the agent's modules and did nothing else:
    the memory floor of any command or daemon."""
    if not _IMPORT_FLOOR:
        done = run_child([python(), "-c", "import mailagent.cli.main, mailagent.runners.daemon,"
                          " mailagent.runners.pipeline, mailagent.app\n"
                          "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"],
                         cap_seconds=60)
        _IMPORT_FLOOR.append(int(done.stdout.split()[-1]) / 1024)
    return _IMPORT_FLOOR[0]


def python() -> str:
    """This checkout's interpreter (the one running the bench)."""
    import sys

    return sys.executable


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
        "os": platform.platform(terse=True), "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def addresses(header: str) -> list[str]:
    return [a.lower() for _, a in getaddresses([header]) if a]
