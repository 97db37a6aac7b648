"""A desk for case tests: an agent with a clock the test moves, and what it sent, as read.

`Desk` wires an agent on a temporary folder (Maildir in, files out, unless the test passes
the real servers' source and transport), delivers the emails people write, runs one pass
at the instant the test names, and reads back the outbox: each row as the email it is,
with its To, CC, subject, both bodies and attachments.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from mailagent.app import build_agent
from mailagent.cases.outcome import Outcome
from mailagent.clock import FixedClock
from mailagent.runners.pipeline import PassReport, run_once
from mailagent.store.models import Case, CaseEvent, Outbound
from tests.clients import parse
from tests.support import make_settings

IRO = "Irene Reed <iro1@example.test>"

ESCALATION = """\
Child: 123456
Plan: LAC
Team: North
Social worker: Sam Walker
Category: Placement
Issue: The placement plan agreed at the review on 3 December has not been started.
Impact on child: The child remains in an unsuitable placement and has missed school.
Resolution sought: A placement search to begin this week and an update to the IRO.

Irene Reed
Independent Reviewing Officer"""


def fields(**changes: str) -> str:
    """The escalation body with some fields changed ("Team": "South") or added."""
    lines = ESCALATION.split("\n")
    for name, value in changes.items():
        label = name.replace("_", " ").capitalize()
        found = [i for i, line in enumerate(lines) if line.lower().startswith(label.lower() + ":")]
        if found:
            lines[found[0]] = f"{label}: {value}"
        else:
            lines.insert(1, f"{label}: {value}")
    return "\n".join(lines)


@dataclass
class DeskPass(PassReport):
    """A pass's counts, and (for the test to read) how each message it read ended."""

    outcomes: list[Outcome] = field(default_factory=list)


@dataclass(frozen=True)
class Sent:
    """One outbox row, read as the email it is."""

    row: Outbound
    msg: EmailMessage

    @property
    def purpose(self) -> str:
        return self.row.purpose

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"])

    @property
    def to(self) -> list[str]:
        return addresses(self.msg, "To")

    @property
    def cc(self) -> list[str]:
        return addresses(self.msg, "Cc")

    @property
    def text(self) -> str:
        return text_of(self.msg)

    @property
    def html(self) -> str:
        return html_of(self.msg)

    def attachments(self) -> dict[str, bytes]:
        return {
            str(part.get_filename()): part.get_content()
            if isinstance(part.get_content(), bytes) else part.get_content().encode()
            for part in self.msg.iter_attachments()
        }

    def __repr__(self) -> str:
        return f"<{self.purpose} to={self.to} cc={self.cc} {self.subject!r}>"


def addresses(msg: EmailMessage, header: str) -> list[str]:
    return [addr.lower() for _, addr in getaddresses([str(msg.get(header, ""))]) if addr]


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


class Desk:
    """An agent, its clock, its mailbox and its outbox, for one test."""

    def __init__(self, tmp: Path, at: datetime, *, council: str = "leicestershire",
                 deliver: Callable[[bytes], Any] | None = None,
                 agent_options: dict[str, Any] | None = None, **sections: Any) -> None:
        """`agent_options` change keys of the config's [agent] section; `sections` are
        config sections for `make_settings` (source, transport, ...)."""
        settings = make_settings(tmp, council=council, **sections)
        if agent_options:
            agent = settings.agent.model_copy(update=agent_options)
            settings = settings.model_copy(update={"agent": agent})
        self.clock = FixedClock(at)
        self.agent = build_agent(settings, clock=self.clock)
        self._deliver = deliver or self._drop
        self._inbox = tmp / "mailbox"
        self._dropped = 0
        self._undated: list[Path] = []
        self._seen = 0
        self._parsed: dict[int | None, EmailMessage] = {}

    def close(self) -> None:
        self.agent.close()

    # mail in ----------------------------------------------------------------------------

    def receive(self, raw: bytes) -> bytes:
        self._deliver(raw)
        return raw

    def _drop(self, raw: bytes) -> None:
        self._dropped += 1
        path = self._inbox / f"{self._dropped:04d}.eml"
        path.write_bytes(raw)
        self._undated.append(path)

    def run(self, at: datetime | None = None) -> DeskPass:
        """One pass of the agent at `at` (or now): read, sweep, send. Mail received since
        the last pass reached the mailbox at `at`."""
        if at is not None:
            self.clock.set(at)
        arrived = self.clock.now().timestamp()
        for path in self._undated:  # a Maildir message arrives at its file's mtime
            os.utime(path, (arrived, arrived))
        self._undated.clear()
        outcomes: list[Outcome] = []
        report = run_once(self.agent, on_outcome=outcomes.append)
        return DeskPass(**vars(report), outcomes=outcomes)

    # mail out ---------------------------------------------------------------------------

    def outbox(self) -> list[Sent]:
        with Session(self.agent.engine) as session:
            rows = session.exec(select(Outbound).order_by(Outbound.id)).all()
        # Parsed once each: the stdlib's header parser is slow enough to matter here.
        for row in rows:
            if row.id not in self._parsed:
                self._parsed[row.id] = parse(row.raw)
        return [Sent(row, self._parsed[row.id]) for row in rows]

    def new(self) -> list[Sent]:
        """Emails queued since the last call."""
        rows = self.outbox()
        fresh, self._seen = rows[self._seen:], len(rows)
        return fresh

    def one(self, purpose: str, rows: list[Sent] | None = None) -> Sent:
        found = [s for s in (self.new() if rows is None else rows) if s.purpose == purpose]
        assert len(found) == 1, f"expected one {purpose}, got {found}"
        return found[0]

    def last(self, purpose: str) -> Sent:
        return [s for s in self.outbox() if s.purpose == purpose][-1]

    # cases ------------------------------------------------------------------------------

    def case(self, ref: str | None = None) -> Case:
        with Session(self.agent.engine) as session:
            query = select(Case).order_by(Case.id.desc()).options(  # type: ignore[union-attr]
                selectinload(Case.stand_ins), selectinload(Case.alert))  # type: ignore[arg-type]
            if ref is not None:
                query = query.where(Case.ref == ref)
            case = session.exec(query).first()
        assert case is not None
        return case

    def events(self, kind: str | None = None) -> list[CaseEvent]:
        with Session(self.agent.engine) as session:
            query = select(CaseEvent).order_by(CaseEvent.id)
            if kind is not None:
                query = query.where(CaseEvent.kind == kind)
            return list(session.exec(query).all())
