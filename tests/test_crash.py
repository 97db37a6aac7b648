"""The crash suite: a real ingest from Dovecot, killed again and again, loses and repeats
nothing (but the one documented window).

Several hundred mixed messages (IROs' escalations from Outlook, managers' replies on their
threads, out-of-office answers, untagged mail from IROs, strangers' mail) wait in the shared
mailbox on the real Dovecot; the agent reads them over IMAP and sends through an SMTP server
that records every message it accepts. The agent runs in a child process forked from this
one (so a restart costs no Python start-up) and is killed with SIGKILL:

* at each commit boundary, on purpose: just after a message's transaction commits and
  before it is filed out of the inbox; after an email is marked `sending` and before it is
  handed to the server; after the server accepted it and before it is marked `sent` (the
  SMTP hand-off window); after it is marked `sent`; after the mailbox is noted read through;
* at 50+ random moments (seeded, so a failure can be replayed), and restarted each time.

Afterwards one clean run finishes the work, and: every message is in Processed or
Quarantine exactly once and recorded once; one case per escalation; no event recorded twice
for a message; no email queued twice; every email delivered, and any delivered twice is one
the server accepted before the process died and before its row said so (counted; at least
the one killed there on purpose).
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, func, select

from mailagent.app import build_agent
from mailagent.clock import FixedClock
from mailagent.config import Settings
from mailagent.runners.pipeline import run_once
from mailagent.store.models import Case, CaseEvent, Inbound, Outbound
from tests.clients import exchange_out_of_office, gmail_new, outlook_new, outlook_reply
from tests.desk import ESCALATION, fields
from tests.servers import AnyPortController
from tests.support import imap_source, london, make_settings

# Slow by nature (a few hundred messages, sixty restarts): its own time limit.
pytestmark = [pytest.mark.servers, pytest.mark.timeout(600)]

SEED = int(os.environ.get("MAILAGENT_CRASH_SEED", "1414"))
# Escalations; each with a manager's reply and an IRO's untagged question, every other one
# with an out-of-office, every third one a stranger's: about 210 messages.
GROUPS = int(os.environ.get("MAILAGENT_CRASH_GROUPS", "55"))
RANDOM_KILLS = int(os.environ.get("MAILAGENT_CRASH_KILLS", "55"))
IRO = "Irene Reed <iro1@example.test>"
TM = "Tara Moss <tm1@example.test>"
STRANGER = "Pat Nobody <pat@elsewhere.test>"
SENT_AT = london(2026, 11, 2, 9)
NOW = london(2026, 11, 2, 12)  # the same working day, in working hours: nothing falls due

# Where a child is killed on purpose: (what it just did, which time it did it).
BOUNDARIES = [
    ("_handle_once", 7),   # a message committed, not yet filed out of the inbox
    ("_claim", 5),         # an email marked `sending`, not yet handed over
    ("handed_over", 3),    # the server accepted an email, its row not yet marked `sent`
    ("_mark_sent", 4),     # an email marked `sent`
    ("note_source_seen", 1),  # the mailbox noted as read through
]


class Recorder:
    """An SMTP server that accepts everything and keeps each message's Message-ID."""

    def __init__(self) -> None:
        self.accepted: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        for line in (envelope.original_content or b"").split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.accepted.append(line.split(b":", 1)[1].strip().decode())
                break
            if not line:
                break
        return "250 2.0.0 OK"


def _mail() -> list[bytes]:
    rng = random.Random(SEED)
    mail: list[bytes] = []
    for n in range(GROUPS):
        at = SENT_AT + timedelta(seconds=20 * n)
        body = fields(child=str(500000 + n))
        tagged = (outlook_new if n % 2 else gmail_new)(
            IRO, f"[ESCALATE] Placement plan not started ({n})", body, at=at,
            **({"cc": TM} if n % 2 else {}))
        mail.append(tagged)
        mail.append(outlook_reply(tagged, TM, f"Panel is booked ({n}).", at=at))
        if n % 2:
            mail.append(exchange_out_of_office(tagged, TM, "I am out until Monday.", at=at))
        mail.append(outlook_new(IRO, f"A question ({n})", "Can you tell me where we are?",
                                at=at))
        if n % 3 == 0:
            mail.append(outlook_new(STRANGER, f"[ESCALATE] Hello ({n})", ESCALATION, at=at))
    # Messages reach a shared mailbox interleaved, but a reply never before its escalation.
    rng.shuffle(mail)
    return _escalations_first(mail)


def _message_id(raw: bytes) -> str:
    from email import message_from_bytes

    return str(message_from_bytes(raw)["Message-ID"]).strip()


def _escalations_first(mail: list[bytes]) -> list[bytes]:
    from email import message_from_bytes

    order: dict[str, int] = {}
    placed: list[bytes] = []
    waiting: list[bytes] = []
    for raw in mail:
        msg = message_from_bytes(raw)
        parent = str(msg.get("In-Reply-To", "")).strip()
        if parent and parent not in order:
            waiting.append(raw)
        else:
            order[str(msg["Message-ID"]).strip()] = len(placed)
            placed.append(raw)
            for held in [w for w in waiting
                         if str(message_from_bytes(w)["In-Reply-To"]).strip() in order]:
                waiting.remove(held)
                placed.append(held)
    return placed + waiting


def _child(settings: Settings, kill_at: tuple[str, int] | None) -> None:
    """The agent, in the forked process: passes until the work is done (exit 0), unless
    killed on the way."""
    try:
        agent = build_agent(settings, clock=FixedClock(NOW))
        if kill_at is not None:
            _kill_at(agent, *kill_at)
        while True:
            report = run_once(agent)
            if os.environ.get("MAILAGENT_CRASH_DEBUG"):
                print(os.getpid(), report, file=sys.stderr, flush=True)
            if report.fetched == 0 and report.delivery.sent == 0 and \
                    report.delivery.retrying == 0:
                break
        os._exit(0)
    except BaseException:  # noqa: BLE001 - the parent reads the exit status
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def _kill_at(agent, site: str, nth: int) -> None:  # type: ignore[no-untyped-def]
    seen = Counter[str]()

    def reached(name: str) -> None:
        seen[name] += 1
        if name == site and seen[name] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_commit(_session) -> None:  # type: ignore[no-untyped-def]
        frame = sys._getframe(1)
        names = set()
        while frame is not None:
            names.add(frame.f_code.co_name)
            frame = frame.f_back
        if site in names:
            reached(site)

    sa.event.listen(OrmSession, "after_commit", after_commit)
    send = agent.transport.send

    def handed_over(*args, **kwargs):  # type: ignore[no-untyped-def]
        send(*args, **kwargs)
        reached("handed_over")

    agent.transport.send = handed_over


def _run_child(settings: Settings, kill_at: tuple[str, int] | None = None,
               kill_after: float | None = None) -> int:
    """Fork the agent; SIGKILL it after `kill_after` seconds if given; its exit status."""
    pid = os.fork()
    if pid == 0:
        _child(settings, kill_at)
    if kill_after is not None:
        deadline = time.monotonic() + kill_after
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.005)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_killed_at_every_commit_boundary_and_at_random_it_loses_and_repeats_nothing(
    mailboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    recorder = Recorder()
    smtp = AnyPortController(recorder, hostname="127.0.0.1", port=0)
    smtp.start()
    try:
        settings = make_settings(
            tmp_path, source=imap_source(mailboxes),
            transport={"kind": "smtp", "host": "127.0.0.1", "port": smtp.port,
                       "security": "none"})
        mail = _mail()
        mailboxes.append_many("agent", mail)

        for site, nth in BOUNDARIES:
            assert _run_child(settings, kill_at=(site, nth)) == -signal.SIGKILL, site
        rng = random.Random(SEED)
        killed = 0
        for _ in range(RANDOM_KILLS * 3):
            if killed == RANDOM_KILLS:
                break
            status = _run_child(settings, kill_after=rng.uniform(0.05, 0.6))
            assert status in (0, -signal.SIGKILL), f"the agent failed: exit {status}"
            killed += status == -signal.SIGKILL
        assert killed == RANDOM_KILLS, "the work ran out before the kills did"
        assert _run_child(settings) == 0  # restarted once more, left to finish
        _assert_nothing_lost_or_repeated(mailboxes, settings, mail, recorder.accepted,
                                         kills=killed + len(BOUNDARIES))
    finally:
        smtp.stop()


def _assert_nothing_lost_or_repeated(  # type: ignore[no-untyped-def]
    mailboxes, settings: Settings, mail: list[bytes], accepted: list[str], kills: int
) -> None:
    # Every message filed once, and recorded once.
    assert mailboxes.fetch_all("agent") == []
    filed = mailboxes.fetch_all("agent", "Processed") + mailboxes.fetch_all("agent", "Quarantine")
    assert Counter(map(_message_id, filed)) == Counter(map(_message_id, mail))
    engine = sa.create_engine(settings.database.url)
    try:
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Inbound)).one() == len(mail)
            statuses = Counter(session.exec(select(Inbound.status)).all())
            assert set(statuses) <= {"processed", "quarantined", "ignored"}, statuses
            children = session.exec(select(Case.child_ref)).all()
            assert sorted(children) == sorted(str(500000 + n) for n in range(GROUPS))
            events = session.exec(select(CaseEvent.inbound_id, CaseEvent.kind)
                                  .where(CaseEvent.inbound_id.is_not(None))).all()
            repeated = [e for e, count in Counter(events).items() if count > 1]
            assert repeated == [], repeated
            rows = session.exec(select(Outbound)).all()
        # A case's email for one purpose to the same people is written once (mail of no case,
        # the answers to untagged mail, is capped per sender and day instead).
        queued = Counter((row.case_id, row.purpose, tuple(row.recipients))
                         for row in rows if row.case_id is not None)
        assert [k for k, count in queued.items() if count > 1] == []
        assert {row.status for row in rows} == {"sent"}
        # Delivered: every email; twice only across the SMTP hand-off window.
        times = Counter(accepted)
        assert set(times) == {row.message_id for row in rows}
        twice = {message_id for message_id, count in times.items() if count > 1}
        attempts = {row.message_id: row.attempts for row in rows}
        assert all(attempts[message_id] >= 2 for message_id in twice)
        assert 1 <= len(twice) <= kills, (len(twice), kills)
        print(f"\ncrash suite (seed {SEED}): {len(mail)} messages, {kills} kills, "
              f"{len(rows)} emails, {len(twice)} delivered twice in the SMTP hand-off window")
    finally:
        engine.dispose()
