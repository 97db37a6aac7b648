"""Seeding cases for the report tests through the case engine, with the clock moved by hand.

Each step runs in its own transaction at its own time, as the agent would have done it:
`open`, `respond` (the stage's addressee answers), `escalate`, `timeout` (the sweep's step
when a deadline passes), `extend`, `resolve`, `withdraw`. Commendations and collective
alerts are written as plain rows (their own modules are not what the reports test).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailagent import engine
from mailagent.app import Agent
from mailagent.config import PROJECT_DIR
from mailagent.models import Case, Inbound
from mailagent.notify import stage_recipients
from mailagent.store import transaction
from tests.support import MAILBOX, email_bytes

TEAMS = {"north": "North Children in Care Team", "south": "South Children in Care Team"}
CATEGORIES = {"placement": "Placement", "contact": "Sibling or family contact",
              "drift": "Drift in care plan", "visits": "Visits to the child",
              "services": "Services to the child", "permanence": "Permanence plan",
              "care_plan": "Care plan"}


class Seeder:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._inbound = 0

    def _case(self, session: Session, ref: str) -> Case:
        return session.exec(select(Case).where(Case.ref == ref)).one()

    def _at(self, at: datetime) -> datetime:
        self.agent.clock.set(at)  # type: ignore[attr-defined]
        return self.agent.clock.now()

    def open(self, at: datetime, *, team: str, iro: str, category: str, child: str,
             plan: str = "LAC", stage: str | None = None, kind: str = "escalation") -> str:
        now = self._at(at)
        fields: dict[str, Any] = {
            "child": child, "plan": plan, "team": team, "team_name": TEAMS[team],
            "category": category, "category_label": CATEGORIES[category],
            "issue": f"Issue about {CATEGORIES[category].lower()} (case of child {child}).",
            "impact": "Delay for the child.", "resolution_sought": "A plan by Friday.",
        }
        if stage:
            fields["stage"] = stage
        with transaction(self.agent.engine) as session:
            inbound_id = self._inbound_row(session, iro, now, f"[ESCALATE] {child}")
            case = engine.open_case(session, self.agent, kind=kind, fields=fields,
                                    iro_email=iro, now=now, inbound_id=inbound_id)
            session.get(Inbound, inbound_id).case_id = case.id  # type: ignore[union-attr]
            return case.ref

    def respond(self, ref: str, at: datetime) -> str:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            stage = engine.ladder_of(self.agent, case).stage(case.stage_id)
            responder = stage_recipients(self.agent, case, stage).to[0]
            inbound_id = self._inbound_row(session, responder.email, now, f"RE: [{ref}]",
                                           case.id)
            engine.respond(session, self.agent, case, responder, "We will act on this.", now,
                           inbound_id)
            return responder.email

    def escalate(self, ref: str, at: datetime, to_stage: str | None = None) -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            engine.escalate(session, self.agent, case, now, actor=case.iro_email,
                            to_stage=to_stage)

    def step(self, ref: str, at: datetime, step: str) -> None:
        """A time-driven step, as the sweep applies it: timeout, reminder, process_breach."""
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            engine.apply_due(session, self.agent, self._case(session, ref), step, now)

    def extend(self, ref: str, at: datetime, days: int) -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            engine.extend(session, self.agent, case, now, actor=case.iro_email, days=days)

    def resolve(self, ref: str, at: datetime, outcome: str | None = "Plan agreed.",
                learning: str | None = "Agree plans at the review.") -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            engine.resolve(session, self.agent, case, now, actor=case.iro_email,
                           outcome=outcome, learning=learning)

    def withdraw(self, ref: str, at: datetime) -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            engine.withdraw(session, self.agent, case, now, actor=case.iro_email,
                            reason="The plan changed.")

    def other(self, at: datetime, *, kind: str, ref: str, iro: str,
              team: str | None = None, theme: str | None = None) -> str:
        """A commendation (GP-...) or collective alert (CA-...) row."""
        now = self._at(at)
        fields: dict[str, Any] = {}
        if team:
            fields.update(team=team, team_name=TEAMS[team])
        if theme:
            fields["theme"] = theme
        with transaction(self.agent.engine) as session:
            session.add(Case(ref=ref, kind=kind, status="open", team=team, iro_email=iro,
                             fields=fields, opened_at=now, extra={}))
        return ref

    def _inbound_row(self, session: Session, sender: str, now: datetime, subject: str,
                     case_id: int | None = None) -> int:
        self._inbound += 1
        raw = email_bytes(sender=sender, subject=subject, body="(seeded)", date=now)
        row = Inbound(digest=hashlib.sha256(raw).hexdigest(), source="seed",
                      source_uid=str(self._inbound), raw=raw, received_at=now,
                      status="processed", kind="reply", case_id=case_id, processed_at=now)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def config_file(tmp: Path) -> Path:
    """A config file for the CLI over the same database and folders as `make_agent(tmp)`."""
    path = tmp / "config.toml"
    path.write_text(
        f"""
[agent]
council = "leicestershire"
mailbox = "{MAILBOX}"
rules_dir = "{PROJECT_DIR / 'rules'}"
templates_dir = "{PROJECT_DIR / 'templates'}"
data_dir = "{tmp}"
[database]
url = "sqlite:///{tmp / 'test.sqlite'}"
[directory]
path = "{PROJECT_DIR / 'rules' / 'directory.example.toml'}"
[source]
kind = "maildir"
path = "{tmp / 'mailbox'}"
[transport]
kind = "files"
path = "{tmp / 'sent'}"
""",
        encoding="utf-8",
    )
    return path
