"""The running agent's parts, built once from settings and handed to every step."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from mailagent.clock import Clock, SystemClock
from mailagent.config import ConfigError, ImapSourceSettings, Settings, SmtpTransportSettings
from mailagent.directory import Directory, load_directory
from mailagent.outbox import Sender
from mailagent.render import Renderer
from mailagent.rules import RulesError, RuleSet, load_rules
from mailagent.sources.base import MailSource
from mailagent.sources.imap import ImapSource
from mailagent.sources.maildir import MaildirSource
from mailagent.store import create_db_engine, upgrade
from mailagent.transports.base import Transport
from mailagent.transports.files import FilesTransport
from mailagent.transports.smtp import SmtpTransport
from mailagent.vocabulary import Vocabulary, load_vocabulary
from mailagent.workdays import WorkingCalendar


@dataclass
class Agent:
    settings: Settings
    engine: sa.Engine
    clock: Clock
    calendar: WorkingCalendar
    rules: RuleSet
    directory: Directory
    vocabulary: Vocabulary
    renderer: Renderer
    source: MailSource
    transport: Transport
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def sender(self) -> Sender:
        return Sender(self.settings.agent.mailbox, self.settings.agent.display_name)

    @property
    def ladder_id(self) -> str:
        return self.settings.agent.council

    def close(self) -> None:
        self.source.close()
        self.transport.close()
        self.engine.dispose()


def build_agent(
    settings: Settings,
    *,
    clock: Clock | None = None,
    source: MailSource | None = None,
    transport: Transport | None = None,
    migrate: bool = True,
) -> Agent:
    """Wire the agent from settings; tests pass their own clock, source or transport."""
    engine = create_db_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    rules_dir = settings.resolve(settings.agent.rules_dir)
    try:
        rules = load_rules(rules_dir)
    except RulesError as exc:
        raise ConfigError(str(exc)) from exc
    if settings.agent.council not in rules.ladders:
        raise ConfigError(
            f"{settings.path or '<config>'}: agent.council: no ladder "
            f"{settings.agent.council!r} in {rules_dir / 'ladders'}"
        )
    cal = settings.calendar
    return Agent(
        settings=settings,
        engine=engine,
        clock=clock or SystemClock(),
        calendar=WorkingCalendar(
            timezone=cal.timezone,
            closures=cal.closures,
            cutoff=cal.cutoff,
            working_hours=(cal.working_hours_start, cal.working_hours_end),
        ),
        rules=rules,
        directory=load_directory(settings.resolve(settings.directory.path)),
        vocabulary=load_vocabulary(rules_dir),
        renderer=Renderer(settings.resolve(settings.agent.templates_dir)),
        source=source or build_source(settings),
        transport=transport or build_transport(settings),
    )


def build_source(settings: Settings) -> MailSource:
    src = settings.source
    if isinstance(src, ImapSourceSettings):
        password = src.password.reveal() if src.password else None
        return ImapSource(
            src.host, src.port, src.username, password=password, ssl=src.ssl,
            starttls=src.starttls, folder=src.folder, processed_folder=src.processed_folder,
            quarantine_folder=src.quarantine_folder,
        )
    return MaildirSource(settings.resolve(src.path))


def build_transport(settings: Settings) -> Transport:
    out = settings.transport
    if isinstance(out, SmtpTransportSettings):
        password = out.password.reveal() if out.password else None
        return SmtpTransport(
            out.host, out.port, security=out.security, username=out.username,
            password=password, timeout=out.timeout_seconds,
        )
    return FilesTransport(settings.resolve(out.path))


def data_path(settings: Settings, name: str) -> Path:
    return settings.resolve(settings.agent.data_dir) / name
