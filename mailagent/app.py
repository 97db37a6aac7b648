"""The running agent's parts, built once from settings and handed to the runners."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm

from mailagent.cases.office import Office
from mailagent.clock import Clock, SystemClock
from mailagent.config import (
    ConfigError,
    EwsSourceSettings,
    EwsTransportSettings,
    GraphSourceSettings,
    GraphTransportSettings,
    ImapSourceSettings,
    Settings,
    SmtpTransportSettings,
)
from mailagent.mail.render import Renderer
from mailagent.policy.directory import load_directory
from mailagent.policy.rules import load_rules
from mailagent.policy.schema import RulesError
from mailagent.policy.vocabulary import load_vocabulary
from mailagent.policy.workdays import WorkingCalendar
from mailagent.private import private_dir
from mailagent.sources.base import MailSource
from mailagent.store.db import create_db_engine, upgrade
from mailagent.transports.base import Transport

if TYPE_CHECKING:  # the backends are imported only when the config names them
    from mailagent.microsoft.exchange import ExchangeMailbox
    from mailagent.microsoft.graph import GraphClient
    from mailagent.microsoft.oauth import OAuthApps


@dataclass
class Agent(Office):
    """The case logic's `Office`, plus the database, the mailbox and the way mail is sent."""

    engine: sa.Engine
    source: MailSource
    transport: Transport
    stopping: threading.Event = field(default_factory=threading.Event)

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
    private_dir(settings.agent.data_dir)
    engine = database_engine(settings)
    if migrate:
        upgrade(engine)
    # The ORM's mappings are set up now, at start-up, rather than by the first query.
    sa.orm.configure_mappers()
    rules_dir = settings.agent.rules_dir
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
    oauth = oauth_apps(settings)
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
        directory=load_directory(settings.directory.path),
        vocabulary=load_vocabulary(rules_dir),
        renderer=Renderer(settings.agent.templates_dir),
        source=source or build_source(settings, engine=engine, oauth=oauth),
        transport=transport or build_transport(settings, oauth=oauth),
    )


def database_engine(settings: Settings) -> sa.Engine:
    """The database engine, with the password from the environment or a file (never from
    the URL); ConfigError if a configured password cannot be read."""
    return create_db_engine(settings.database.url, settings.database_password())


def build_source(
    settings: Settings, *, engine: sa.Engine | None = None, oauth: OAuthApps | None = None
) -> MailSource:
    """The mailbox backend named by [source] kind; imports only the one it needs."""
    src = settings.source
    oauth = oauth or oauth_apps(settings)
    if isinstance(src, ImapSourceSettings):
        from mailagent.microsoft.oauth import OUTLOOK_SCOPES
        from mailagent.sources.imap import ImapSource

        xoauth2 = src.auth == "xoauth2" and oauth is not None
        return ImapSource(
            src.host, src.port, src.username,
            password=None if xoauth2 or not src.password else src.password.reveal(),
            token_provider=oauth.provider(OUTLOOK_SCOPES) if xoauth2 and oauth else None,
            ssl=src.ssl, starttls=src.starttls, folder=src.folder,
            processed_folder=src.processed_folder, quarantine_folder=src.quarantine_folder,
            timeout=src.timeout_seconds, ssl_context=tls_context(src.ca_file),
        )
    if isinstance(src, GraphSourceSettings):
        from mailagent.sources.graph import GraphSource
        from mailagent.store.cursors import DatabaseCursors

        engine = engine or database_engine(settings)
        return GraphSource(
            _graph_client(src, oauth), src.mailbox or settings.agent.mailbox,
            DatabaseCursors(engine), folder=src.folder,
            processed_folder=src.processed_folder, quarantine_folder=src.quarantine_folder,
        )
    if isinstance(src, EwsSourceSettings):
        from mailagent.sources.ews import EwsSource

        mailbox = _exchange_mailbox(settings, src)
        return EwsSource(
            mailbox.connect, mailbox.mailbox, processed_folder=src.processed_folder,
            quarantine_folder=src.quarantine_folder,
        )
    from mailagent.sources.maildir import MaildirSource

    return MaildirSource(src.path)


def build_transport(settings: Settings, *, oauth: OAuthApps | None = None) -> Transport:
    """The way of sending named by [transport] kind."""
    out = settings.transport
    oauth = oauth or oauth_apps(settings)
    if isinstance(out, SmtpTransportSettings):
        from mailagent.microsoft.oauth import OUTLOOK_SCOPES
        from mailagent.transports.smtp import SmtpTransport

        xoauth2 = out.auth == "xoauth2" and oauth is not None
        return SmtpTransport(
            out.host, out.port, security=out.security, username=out.username,
            password=None if xoauth2 or not out.password else out.password.reveal(),
            token_provider=oauth.provider(OUTLOOK_SCOPES) if xoauth2 and oauth else None,
            timeout=out.timeout_seconds, ssl_context=tls_context(out.ca_file),
        )
    if isinstance(out, GraphTransportSettings):
        from mailagent.transports.graph import GraphTransport

        return GraphTransport(_graph_client(out, oauth), out.mailbox or settings.agent.mailbox)
    if isinstance(out, EwsTransportSettings):
        from mailagent.transports.ews import EwsTransport

        mailbox = _exchange_mailbox(settings, out)
        return EwsTransport(mailbox.connect, save_to_sent_items=out.save_to_sent_items)
    from mailagent.transports.files import FilesTransport

    return FilesTransport(out.path)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate and host name verification always on; a council's own CA added if named."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot read the CA file {ca_file}: {exc}") from exc
    return context


def oauth_apps(settings: Settings) -> OAuthApps | None:
    """The [oauth] app registration's token providers, if there is one."""
    if settings.oauth is None:
        return None
    from mailagent.microsoft.oauth import OAuthApps

    return OAuthApps(settings.oauth)


def _graph_client(
    section: GraphSourceSettings | GraphTransportSettings, oauth: OAuthApps | None
) -> GraphClient:
    from mailagent.microsoft.graph import GraphClient
    from mailagent.microsoft.oauth import GRAPH_SCOPES

    assert oauth is not None  # the settings insist on [oauth] for Graph
    return GraphClient(
        oauth.provider(GRAPH_SCOPES), base_url=section.base_url, timeout=section.timeout_seconds
    )


def _exchange_mailbox(
    settings: Settings, section: EwsSourceSettings | EwsTransportSettings
) -> ExchangeMailbox:
    from mailagent.microsoft.exchange import ExchangeMailbox

    return ExchangeMailbox(
        mailbox=section.mailbox or settings.agent.mailbox,
        username=section.username,
        password=section.password.reveal() or "",
        server=section.server,
        service_endpoint=section.service_endpoint,
        auth_type=section.auth_type,
        access_type=section.access_type,
    )


def data_path(settings: Settings, name: str) -> Path:
    return settings.agent.data_dir / name
