"""`mailagent status`: what the agent does, when it last heard from the mailbox, what is queued."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, func, select

from mailagent.app import Agent, data_path
from mailagent.runners.daemon import STATE_FILE, describe_daemon
from mailagent.store.models import Case, Inbound, Outbound, SourceState


def describe_status(agent: Agent) -> str:
    with Session(agent.engine) as session:
        state = session.get(SourceState, agent.source.name)
        heard = (
            state.last_seen_at.isoformat(timespec="seconds")
            if state and state.last_seen_at
            else "never"
        )
        outbox = dict(
            session.exec(select(Outbound.status, func.count()).group_by(Outbound.status)).all()
        )
        inbound = dict(
            session.exec(select(Inbound.status, func.count()).group_by(Inbound.status)).all()
        )
        open_cases = session.exec(
            select(func.count()).select_from(Case).where(Case.status == "open")
        ).one()
        next_due = session.exec(
            select(sa.func.min(Outbound.not_before)).where(Outbound.status == "queued")
        ).one()
    lines = [
        *describe_daemon(data_path(agent.settings, STATE_FILE)),
        f"mailbox:        {agent.source.name}",
        f"last heard:     {heard}",
        f"open cases:     {open_cases}",
        "inbound:        " + _counts(inbound),
        "outbox:         " + _counts(outbox),
    ]
    if next_due:
        lines.append(f"next send due:  {next_due.isoformat(timespec='seconds')}")
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "none"
