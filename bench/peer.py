"""`bench --peer`: django-helpdesk, the best-known Python helpdesk, on P2's backlog, beside the
agent and against the same floor measured in the same run.

django-helpdesk 2.6.1 is installed from PyPI into its own virtualenv under var/peer (never
committed; made once, reused after) and driven by bench/peer_drive.py: a throwaway Django
site whose one queue reads the same messages from the same Dovecot with django-helpdesk's
own IMAP fetcher, opens a ticket or adds a follow-up for each, and acknowledges each new
ticket to its submitter and to the queue's copy address through the same SMTP server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from bench.corpus import Corpus
from bench.figures import Results, at_least_of_floor
from bench.mailbox import append
from bench.rig import REPO, VAR, Accepting, run_child
from tests.servers import MailServers

VERSION = "2.6.1"
VENV = REPO / "var" / "peer" / "venv"
USER = "outsider@example.test"  # a mailbox of the test Dovecot that the agent never reads
NOTIFY = "manager@example.test"
CAP_SECONDS = 300.0


def install() -> Path:
    """The peer's interpreter, after installing it if need be."""
    python = VENV / "bin" / "python"
    stamp = VENV / f".django-helpdesk-{VERSION}"
    if not stamp.exists():
        shutil.rmtree(VENV, ignore_errors=True)
        VENV.parent.mkdir(parents=True, exist_ok=True)
        log = VENV.parent / "install.log"
        print(f"peer: installing django-helpdesk {VERSION} into {VENV} (log: {log})", flush=True)
        with log.open("wb") as out:
            subprocess.run(["python3", "-m", "venv", str(VENV)], check=True, stdout=out,
                           stderr=subprocess.STDOUT)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", f"django-helpdesk=={VERSION}"],
                           check=True, stdout=out, stderr=subprocess.STDOUT)
        stamp.touch()
    return python


def run(results: Results, servers: MailServers, accepted: Accepting, mail: Corpus,
        floor: float | None, cap: float = CAP_SECONDS) -> None:
    python = install()
    work = VAR / "peer"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    append(servers, mail, user=USER)
    out = work / "result.json"
    cfg = {"db": str(work / "helpdesk.sqlite3"), "imap_host": servers.imap_host,
           "imap_port": servers.imap_port, "user": USER, "password": servers.password,
           "smtp_port": servers.smtp_port, "notify": NOTIFY, "out": str(out)}
    before = len(accepted)
    t0 = time.monotonic()
    done = run_child([str(python), str(Path(__file__).with_name("peer_drive.py")),
                      json.dumps(cfg)], cap_seconds=cap)
    sent = sum(1 for a in accepted[before:] if a.mail_from == "helpdesk@example.test")
    if out.exists():
        measured = json.loads(out.read_text())
        handled, seconds, note = len(mail), measured["seconds"], ""
    else:
        # Stopped at the cap (or failed): count what it had marked \Deleted (handled).
        with servers.imap_connect(USER) as client:
            client.select_folder("INBOX", readonly=True)
            handled = len(client.search(["DELETED"]))
        seconds = time.monotonic() - t0
        measured = {}
        note = (f"stopped at the {cap:g} s cap" if done.capped else
                f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1][:60]}")
        note += f", {handled:,}/{len(mail):,} read"
    results.facts["peer"] = {"version": VERSION, "messages": len(mail), "handled": handled,
                             "emails_accepted": sent, "wall_seconds": round(done.seconds, 1),
                             **measured}
    results.add("peer", f"django-helpdesk {VERSION}: the same backlog of {len(mail):,}",
                handled / seconds if seconds else None, "msg/s", "(agent: >= 0.5 x floor)",
                floor=floor, floor_name="FETCH + stdlib parse", check=at_least_of_floor(0.5),
                note=note)
    results.add("peer", f"django-helpdesk {VERSION}: peak RSS",
                measured.get("peak_mib") or done.max_rss_mib or None, "MiB", "(agent: <= 70 MiB)")
