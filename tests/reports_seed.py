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

from mailagent.app import Agent
from mailagent.cases import commands, escalation, steps
from mailagent.cases.recipients import stage_recipients
from mailagent.store.db import transaction
from mailagent.store.models import Case, Inbound
from tests.support import MAILBOX, PROJECT_DIR, email_bytes, london

IRO1, IRO2 = "iro1@example.test", "iro2@example.test"
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
            case = escalation.open_case(session, self.agent, kind=kind, fields=fields,
                                    iro_email=iro, now=now, inbound_id=inbound_id)
            session.get(Inbound, inbound_id).case_id = case.id  # type: ignore[union-attr]
            return case.ref

    def respond(self, ref: str, at: datetime) -> str:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            stage = self.agent.ladder_of(case).stage(case.stage_id)
            responder = stage_recipients(self.agent, case, stage).to[0]
            inbound_id = self._inbound_row(session, responder.email, now, f"RE: [{ref}]",
                                           case.id)
            escalation.respond(session, self.agent, case, responder, "We will act on this.", now,
                           inbound_id)
            return responder.email

    def escalate(self, ref: str, at: datetime, to_stage: str | None = None) -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            escalation.escalate(session, self.agent, case, now, actor=case.iro_email,
                            to_stage=to_stage)

    def step(self, ref: str, at: datetime, step: str) -> None:
        """A time-driven step, as the sweep applies it: timeout, reminder, process_breach."""
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            steps.apply_due(session, self.agent, self._case(session, ref), step, now)

    def extend(self, ref: str, at: datetime, days: int) -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            commands.extend(session, self.agent, case, now, actor=case.iro_email, days=days)

    def resolve(self, ref: str, at: datetime, outcome: str | None = "Plan agreed.",
                learning: str | None = "Agree plans at the review.") -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            commands.resolve(session, self.agent, case, now, actor=case.iro_email,
                           outcome=outcome, learning=learning)

    def withdraw(self, ref: str, at: datetime) -> None:
        now = self._at(at)
        with transaction(self.agent.engine) as session:
            case = self._case(session, ref)
            commands.withdraw(session, self.agent, case, now, actor=case.iro_email,
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
                             fields=fields, opened_at=now))
        return ref

    def alert(self, at: datetime, *, ref: str, iro: str, team: str, theme: str,
              raise_at: datetime | None = None) -> str:
        """A collective alert waiting for agreement at `at` and, if `raise_at`, agreed (to be
        raised with the team's Head of Service) and raised then."""
        from mailagent.cases import alert_common, alert_progress
        from mailagent.store.models import CollectiveAlert

        now = self._at(at)
        with transaction(self.agent.engine) as session:
            session.add(Case(ref=ref, kind="collective_alert", status="open", team=team,
                             iro_email=iro, fields={"theme": theme, "evidence": "(seeded)"},
                             opened_at=now, stage_id=alert_common.DRAFT,
                             stage_state=alert_common.AGREEMENT,
                             alert=CollectiveAlert(raise_to="head_of_service")))
        if raise_at is not None:
            now = self._at(raise_at)
            with transaction(self.agent.engine) as session:
                alert_progress.raise_alert(session, self.agent, self._case(session, ref), now,
                                           actor="manager@example.test")
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


def seed_quarter(agent: Agent) -> dict[str, str]:
    """The quarter described in tests/test_reports_quarterly.py; returns the refs by letter."""
    s = Seeder(agent)
    refs: dict[str, str] = {}
    refs["L"] = s.open(london(2026, 6, 30, 10), team="north", iro=IRO1, category="contact",
                       child="900001")
    s.respond(refs["L"], london(2026, 7, 1, 10))
    s.resolve(refs["L"], london(2026, 7, 2, 10))

    refs["A"] = s.open(london(2026, 7, 1, 10), team="north", iro=IRO1, category="placement",
                       child="100001")
    s.respond(refs["A"], london(2026, 7, 3, 11))
    s.resolve(refs["A"], london(2026, 7, 6, 14))

    refs["B"] = s.open(london(2026, 7, 6, 10), team="north", iro=IRO1, category="contact",
                       child="100002")
    refs["C"] = s.open(london(2026, 7, 7, 10), team="south", iro=IRO2, category="drift",
                       child="100003", plan="CP", stage="2")
    s.other(london(2026, 7, 9, 9), kind="commendation", ref="GP-2026-0001", iro=IRO1,
            team="north")
    s.respond(refs["C"], london(2026, 7, 9, 10))
    s.escalate(refs["C"], london(2026, 7, 10, 10))
    refs["D"] = s.open(london(2026, 7, 13, 10), team="south", iro=IRO2, category="placement",
                       child="100004", stage="4")
    s.step(refs["B"], london(2026, 7, 14, 8), "timeout")
    refs["E"] = s.open(london(2026, 7, 15, 10), team="north", iro=IRO1, category="visits",
                       child="100005", plan="CP", kind="challenge")
    s.respond(refs["C"], london(2026, 7, 15, 11))
    s.respond(refs["B"], london(2026, 7, 16, 10))
    s.resolve(refs["C"], london(2026, 7, 16, 15))
    s.respond(refs["E"], london(2026, 7, 17, 9))
    s.resolve(refs["B"], london(2026, 7, 17, 10))
    s.resolve(refs["E"], london(2026, 7, 20, 9))
    refs["K"] = s.open(london(2026, 7, 20, 10), team="south", iro=IRO1, category="placement",
                       child="100011", kind="challenge")
    s.step(refs["D"], london(2026, 7, 21, 8), "timeout")
    s.respond(refs["D"], london(2026, 7, 23, 10))
    s.resolve(refs["D"], london(2026, 7, 27, 10))
    s.step(refs["K"], london(2026, 7, 28, 8), "timeout")
    s.escalate(refs["K"], london(2026, 7, 28, 10))
    s.respond(refs["K"], london(2026, 7, 29, 10))
    s.resolve(refs["K"], london(2026, 7, 30, 10))

    refs["F"] = s.open(london(2026, 8, 3, 10), team="north", iro=IRO2, category="placement",
                       child="100006")
    s.other(london(2026, 8, 3, 12), kind="collective_alert", ref="CA-2026-0001", iro=IRO1,
            theme="Pathway plans not completed for care leavers")
    s.withdraw(refs["F"], london(2026, 8, 5, 10))
    refs["G"] = s.open(london(2026, 8, 10, 10), team="south", iro=IRO1, category="services",
                       child="100007")
    s.respond(refs["G"], london(2026, 8, 11, 10))
    s.escalate(refs["G"], london(2026, 8, 12, 10))
    refs["J"] = s.open(london(2026, 8, 17, 10), team="north", iro=IRO2, category="care_plan",
                       child="100010", stage="3")
    s.respond(refs["J"], london(2026, 8, 18, 10))
    s.resolve(refs["J"], london(2026, 8, 19, 10))
    s.step(refs["G"], london(2026, 8, 20, 8), "timeout")
    s.respond(refs["G"], london(2026, 8, 26, 10))

    refs["H"] = s.open(london(2026, 9, 1, 10), team="north", iro=IRO1, category="permanence",
                       child="100008")
    s.extend(refs["H"], london(2026, 9, 7, 10), 3)
    s.step(refs["G"], london(2026, 9, 9, 8), "process_breach")
    s.respond(refs["H"], london(2026, 9, 10, 10))
    s.resolve(refs["H"], london(2026, 9, 11, 14))
    s.other(london(2026, 9, 14, 9), kind="commendation", ref="GP-2026-0002", iro=IRO2,
            team="south")
    s.other(london(2026, 9, 22, 9), kind="commendation", ref="GP-2026-0003", iro=IRO2,
            team="north")
    refs["I"] = s.open(london(2026, 9, 24, 10), team="south", iro=IRO2, category="drift",
                       child="100009", plan="CP")
    s.respond(refs["I"], london(2026, 9, 30, 10))

    refs["M"] = s.open(london(2026, 10, 1, 10), team="north", iro=IRO2, category="drift",
                       child="900002")
    s.resolve(refs["I"], london(2026, 10, 2, 10))
    s.other(london(2026, 10, 2, 9), kind="commendation", ref="GP-2026-0004", iro=IRO1,
            team="north")
    return refs
