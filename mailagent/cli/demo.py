"""`mailagent demo`: a scripted escalation on the embedded default, told in plain words.

It runs the real pipeline (Maildir in, SQLite, files out) with a clock it moves by hand, so a
new user sees a week of an escalation in a few seconds: an IRO's tagged email arrives, the
agent acknowledges it and emails the Team Manager, a reminder goes out, nobody answers so
the case escalates itself after Christmas, the Service Manager replies from Outlook, and the
IRO resolves it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import datetime
from email import message_from_bytes, policy
from email.utils import format_datetime, getaddresses
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from mailagent.app import Agent, build_agent
from mailagent.cases.notify import deadline_words
from mailagent.cases.outcome import Outcome
from mailagent.clock import FixedClock
from mailagent.config import default_settings
from mailagent.runners.pipeline import run_once
from mailagent.store.models import Case, Outbound

LONDON = ZoneInfo("Europe/London")
IRO = "Irene Reed <iro1@example.test>"
SERVICE_MANAGER = "Sean Mills <sm1@example.test>"

ESCALATION = """\
Child: 123456
Plan: LAC
Team: North
Social worker: Sam Walker
Category: placement
Issue: The placement plan agreed at the review on 3 December has not been started.
Impact on child: The child remains in a placement that cannot meet their needs and has
missed five days of school.
Resolution sought: A placement search to start this week, with an update to the IRO.

Irene Reed
Independent Reviewing Officer
"""


def run_demo(workdir: Path, out: Callable[[str], object] = print) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    clock = FixedClock(datetime(2026, 12, 18, 10, 0, tzinfo=LONDON))
    agent = build_agent(default_settings(workdir), clock=clock)
    say = _Narrator(agent, out)
    try:
        say.heading("Friday 18 December 2026, 10:00")
        opening = _drop(agent, IRO, "[ESCALATE] Placement plan not started", ESCALATION, clock)
        say.line("Irene Reed (IRO) emails the shared mailbox with [ESCALATE] in the subject.")
        say.step(run_once(agent, on_outcome=say.read))

        clock.set(datetime(2026, 12, 24, 9, 30, tzinfo=LONDON))
        say.heading("Thursday 24 December, 09:30: the working day before the deadline")
        say.step(run_once(agent, on_outcome=say.read))

        clock.set(datetime(2026, 12, 30, 8, 0, tzinfo=LONDON))
        say.heading("Wednesday 30 December, 08:00: the deadline has passed, no response")
        say.line("(25 and 28 December are bank holidays, so the deadline was 29 December.)")
        say.step(run_once(agent, on_outcome=say.read))
        clock.set(datetime(2026, 12, 30, 9, 0, tzinfo=LONDON))
        say.line("At 09:00 the held emails go out, in working hours:")
        say.step(run_once(agent, on_outcome=say.read))

        clock.set(datetime(2026, 12, 31, 11, 15, tzinfo=LONDON))
        say.heading("Thursday 31 December, 11:15: the Service Manager replies from Outlook")
        escalation_id = say.last_message_id_to("sm1@example.test")
        _drop(agent, SERVICE_MANAGER, "RE: " + say.last_subject_to("sm1@example.test"),
              "I have asked the team to start the placement search today and will update "
              "the IRO by Monday.\n\nSean Mills\nService Manager\n\n"
              "From: IRO Escalations\nSent: 30 December 2026 09:00\nSubject: ...\n\n"
              "> the original message", clock, in_reply_to=escalation_id)
        say.step(run_once(agent, on_outcome=say.read))

        clock.set(datetime(2026, 12, 31, 14, 0, tzinfo=LONDON))
        say.heading("Thursday 31 December, 14:00: the IRO is satisfied")
        _drop(agent, IRO, "RE: " + say.last_subject_to("iro1@example.test"),
              "#resolved\nOutcome: Placement search started; the child moves on 8 January.\n"
              "Learning: Placement plans need a named owner at the review.\n", clock,
              in_reply_to=opening)
        say.step(run_once(agent, on_outcome=say.read))

        clock.set(datetime(2026, 12, 31, 14, 30, tzinfo=LONDON))
        say.heading("Thursday 31 December, 14:30: the IRO recognises good practice")
        _drop(agent, IRO, "[COMMEND] Placement search started the same day",
              "Team: North\nSocial worker: Sam Walker\nGood practice: Sam started the "
              "placement search the day it was agreed and kept the child informed.\n"
              "Impact on child: The child knew what was happening and felt listened to.\n"
              "This follows ESC-2026-0001.\n", clock)
        say.step(run_once(agent, on_outcome=say.read))

        clock.set(datetime(2027, 1, 4, 8, 0, tzinfo=LONDON))
        say.heading("Monday 4 January 2027, 08:00: the IRO team manager's daily summary")
        from mailagent.reports.summary import send_daily_summary

        send_daily_summary(agent, clock.now())
        say.step(run_once(agent, on_outcome=say.read))
        say.summary(workdir)
    finally:
        agent.close()


def _drop(agent: Agent, sender: str, subject: str, body: str, clock: FixedClock,
          in_reply_to: str | None = None) -> str:
    """Put an email in the demo's Maildir, as a mail server would deliver it."""
    from email.message import EmailMessage
    from email.utils import make_msgid

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, agent.settings.agent.mailbox, subject
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(domain="example.test")
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content(body)
    inbox = agent.settings.source.path  # type: ignore[union-attr]
    count = len(list(inbox.glob("*.eml")))
    path = inbox / f"demo-{clock.now():%Y%m%d%H%M}-{count}.eml"
    path.write_bytes(msg.as_bytes())
    # Delivered at the demo's time, not the real one: a Maildir message arrives at its mtime.
    os.utime(path, (clock.now().timestamp(), clock.now().timestamp()))
    return str(msg["Message-ID"])


class _Narrator:
    def __init__(self, agent: Agent, out: Callable[[str], object]) -> None:
        self.agent, self.out, self._seen = agent, out, 0

    def heading(self, text: str) -> None:
        self.out(f"\n== {text}")

    def line(self, text: str) -> None:
        self.out(f"   {text}")

    def read(self, outcome: Outcome) -> None:
        self.line(f"The agent read an email: {outcome.summary}.")

    def step(self, report) -> None:  # type: ignore[no-untyped-def]
        with Session(self.agent.engine) as session:
            rows = session.exec(select(Outbound).order_by(Outbound.id)).all()
            new = rows[self._seen:]
            for row in new:
                self.line(self._describe(row))
            held_now_sent = report.delivery.sent - sum(r.status == "sent" for r in new)
            if held_now_sent > 0:
                self.line(f"{held_now_sent} held email(s) sent now.")
            self._seen = len(rows)
            for case in session.exec(select(Case)):
                if case.ladder_id is None:
                    self.line(f"{case.kind.replace('_', ' ').capitalize()} {case.ref} is "
                              f"{case.status}.")
                    continue
                stage = self.agent.rules.ladders[case.ladder_id].stage(case.stage_id).name
                due = ""
                if case.stage_state == "awaiting_decision":
                    due = "; waiting for the IRO's decision"
                elif case.status == "open":
                    day = deadline_words(self.agent, case.stage_deadline)[0]
                    due = f"; response due by end of {day}"
                self.line(f"Case {case.ref} is {case.status} at {stage}{due}.")

    def _describe(self, row: Outbound) -> str:
        msg = message_from_bytes(row.raw, policy=policy.default)
        to = ", ".join(name or addr for name, addr in getaddresses([msg.get("To", "")]))
        cc = ", ".join(name or addr for name, addr in getaddresses([msg.get("Cc", "")]))
        state = "sent" if row.status == "sent" else (
            f"held until {row.not_before.astimezone(LONDON):%a %d %b %H:%M}"
            if row.status == "queued" else row.status)
        copy = f" (copy: {cc})" if cc else ""
        return f"Email {state}: \"{msg['Subject']}\" to {to}{copy}"

    def last_message_id_to(self, address: str) -> str:
        return self._last_to(address).message_id

    def last_subject_to(self, address: str) -> str:
        msg = message_from_bytes(self._last_to(address).raw, policy=policy.default)
        return str(msg["Subject"])

    def _last_to(self, address: str) -> Outbound:
        with Session(self.agent.engine) as session:
            rows = session.exec(select(Outbound).order_by(Outbound.id.desc())).all()  # type: ignore[union-attr]
        return next(r for r in rows if address in r.recipients)

    def summary(self, workdir: Path) -> None:
        self.heading("What the demo left behind")
        self.line(f"The database: {workdir / 'mailagent.sqlite'}")
        self.line(f"Every email sent, as .eml files you can open: {workdir / 'sent' / 'new'}")
        self.line(f"The mail the agent read, filed: {workdir / 'mailbox' / '.Processed'}")
