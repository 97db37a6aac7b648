"""`mailagent status`: what the agent does, when it last heard from the mailbox, what is queued."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, func, select

from mailagent.app import Agent, data_path
from mailagent.config import FilesTransportSettings, MaildirSourceSettings, Settings
from mailagent.private import exposed, tree
from mailagent.runners.state import STATE_FILE, describe_daemon
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
    if outbox.get("failed"):
        lines.append("                (`mailagent outbox` lists what was not delivered, and why)")
    return "\n".join(lines + privacy_warnings(agent.settings))


def privacy_warnings(settings: Settings, shown: int = 5) -> list[str]:
    """A warning for each file or folder of children's data that others may read."""
    found = exposed(private_paths(settings))
    lines = [
        f"warning:        {path} is readable by others (mode {mode:04o}); "
        f"chmod {'700' if path.is_dir() else '600'} it"
        for path, mode in found[:shown]
    ]
    if len(found) > shown:
        lines.append(f"warning:        and {len(found) - shown} more files readable by others")
    return lines


def private_paths(settings: Settings) -> list[Path]:
    """Where the agent keeps children's data: the data folder, the SQLite database, and
    everything in the local mailbox and the sent-mail folder (wherever the config puts them)."""
    paths = [settings.agent.data_dir]
    url = sa.engine.make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        paths += [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    for section in (settings.source, settings.transport):
        if isinstance(section, MaildirSourceSettings | FilesTransportSettings):
            paths += tree(section.path)
    return list(dict.fromkeys(paths))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) or "none"
