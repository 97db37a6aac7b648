"""One TOML file -> typed, validated settings; secrets come from the environment or a file.

A wrong or missing key stops the program at start with a message that names the file and
the key, because a council officer edits this file by hand.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(Exception):
    """The configuration cannot be used; str() is one line per problem, naming file and key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(_Section):
    """A secret named by where to find it, never written in the file itself."""

    env: str | None = None
    file: Path | None = None

    def reveal(self) -> str | None:
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"environment variable {self.env} is not set")
            return value
        if self.file:
            try:
                return self.file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read secret file {self.file}: {exc.strerror}") from exc
        return None


class SummarySettings(_Section):
    """The daily summary email: when it goes, to whom, and whether on quiet days."""

    enabled: bool = True
    send_at: time = Field(default=time(8, 0), description="local time on working days")
    to: list[str] = Field(default=["iro_team_manager"], description="directory roles")
    send_empty: bool = Field(default=False, description="send even when there is nothing")
    per_iro: bool = Field(default=False, description="also send each IRO their own cases")


class AgentSettings(_Section):
    council: str = Field(description="ladder id: rules/ladders/<council>.toml")
    mailbox: str = Field(description="the shared mailbox address (From and Reply-To)")
    display_name: str = "IRO Escalations"
    rules_dir: Path = Path("rules")
    templates_dir: Path = Path("templates")
    data_dir: Path = Path("var")
    max_emails_per_recipient_per_case_per_day: int = Field(default=10, ge=1)


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/mailagent.sqlite"
    password: Secret | None = None


class CalendarSettings(_Section):
    timezone: str = "Europe/London"
    cutoff: time = time(17, 0)
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(17, 0)
    closures: list[date] = []


class DirectorySettings(_Section):
    path: Path = Path("rules/directory.example.toml")


class MaildirSourceSettings(_Section):
    kind: Literal["maildir"] = "maildir"
    path: Path = Path("var/mailbox")


class ImapSourceSettings(_Section):
    kind: Literal["imap"]
    host: str
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    username: str
    password: Secret | None = None
    auth: Literal["password", "xoauth2"] = "password"
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: float = Field(default=60.0, gt=0)
    timeout_seconds: float = Field(default=60.0, gt=0)


class _GraphMailbox(_Section):
    """Microsoft Graph (Exchange Online): the shared mailbox, reached with the [oauth] app."""

    mailbox: str | None = None  # the shared mailbox's address; default: [agent] mailbox
    base_url: str = "https://graph.microsoft.com/v1.0"
    timeout_seconds: float = Field(default=60.0, gt=0)


class GraphSourceSettings(_GraphMailbox):
    kind: Literal["graph"]
    folder: str = "inbox"  # a well-known folder name or a folder id
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: float = Field(default=60.0, ge=10)


class _EwsMailbox(_Section):
    """Exchange Server on premises by EWS (exchangelib), as a service account with rights on
    the shared mailbox."""

    server: str | None = None  # host name; EWS is https://SERVER/EWS/Exchange.asmx
    service_endpoint: str | None = None  # or the full EWS URL
    username: str  # the service account: DOMAIN\\user or a UPN
    password: Secret
    auth_type: Literal["ntlm", "basic"] = "ntlm"
    mailbox: str | None = None  # the shared mailbox's address; default: [agent] mailbox
    access_type: Literal["delegate", "impersonation"] = "delegate"
    timeout_seconds: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _one_endpoint(self) -> _EwsMailbox:
        if (self.server is None) == (self.service_endpoint is None):
            raise ValueError("give either server or service_endpoint")
        return self


class EwsSourceSettings(_EwsMailbox):
    kind: Literal["ews"]
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: float = Field(default=60.0, ge=5)


SourceSettings = Annotated[
    MaildirSourceSettings | ImapSourceSettings | GraphSourceSettings | EwsSourceSettings,
    Field(discriminator="kind"),
]


class FilesTransportSettings(_Section):
    kind: Literal["files"] = "files"
    path: Path = Path("var/sent")


class SmtpTransportSettings(_Section):
    kind: Literal["smtp"]
    host: str
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    auth: Literal["none", "password", "xoauth2"] = "none"
    timeout_seconds: float = Field(default=30.0, gt=0)


class GraphTransportSettings(_GraphMailbox):
    kind: Literal["graph"]
    save_to_sent_items: bool = True


class EwsTransportSettings(_EwsMailbox):
    kind: Literal["ews"]
    save_to_sent_items: bool = True


TransportSettings = Annotated[
    FilesTransportSettings | SmtpTransportSettings | GraphTransportSettings
    | EwsTransportSettings,
    Field(discriminator="kind"),
]


class OutboxSettings(_Section):
    max_attempts: int = Field(default=8, ge=1)
    backoff_seconds: float = Field(default=60.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)


class OAuthSettings(_Section):
    """An Entra app's client credentials (Microsoft 365): a secret or a certificate."""

    tenant_id: str
    client_id: str
    client_secret: Secret | None = None
    # A PEM file holding the private key (and the certificate), or a .pfx/.p12 file.
    certificate_file: Path | None = None
    # The certificate's SHA-1 thumbprint (hex); needed for a PEM file without the certificate.
    certificate_thumbprint: str | None = None
    certificate_password: Secret | None = None
    authority_host: str = "https://login.microsoftonline.com"
    # Default: each backend's own (".default" of outlook.office365.com for IMAP and SMTP,
    # of graph.microsoft.com for Graph).
    scopes: list[str] | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> OAuthSettings:
        if (self.client_secret is None) == (self.certificate_file is None):
            raise ValueError("give either client_secret or certificate_file")
        return self


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, alias="json")


class Settings(_Section):
    agent: AgentSettings
    database: DatabaseSettings = DatabaseSettings()
    calendar: CalendarSettings = CalendarSettings()
    directory: DirectorySettings = DirectorySettings()
    source: SourceSettings = MaildirSourceSettings()
    transport: TransportSettings = FilesTransportSettings()
    outbox: OutboxSettings = OutboxSettings()
    oauth: OAuthSettings | None = None
    logging: LoggingSettings = LoggingSettings()
    summary: SummarySettings = SummarySettings()
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _oauth_needs_oauth_section(self) -> Settings:
        for name, section in (("source", self.source), ("transport", self.transport)):
            if self.oauth is None and getattr(section, "auth", None) == "xoauth2":
                raise ValueError(f"{name}: xoauth2 is chosen but there is no [oauth] section")
            if self.oauth is None and section.kind == "graph":
                raise ValueError(f"{name}: Microsoft Graph needs an [oauth] section")
        return self

    def resolve(self, relative: Path) -> Path:
        """A path from the file, taken relative to the config file's folder."""
        if relative.is_absolute() or self.path is None:
            return relative
        return (self.path.parent / relative).resolve()

    @property
    def database_url(self) -> str:
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
            return prefix + str(self.resolve(Path(url[len(prefix):])))
        return url


def load_settings(path: Path) -> Settings:
    """Read and validate the config file; raise ConfigError naming the file and each bad key."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return settings_from_dict(data, path)


def settings_from_dict(data: dict, path: Path | None = None) -> Settings:
    try:
        settings = Settings.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(path, err) for err in exc.errors())) from exc
    return settings


_KINDS = ("imap", "maildir", "graph", "ews", "files", "smtp")


def _describe(path: Path | None, err: dict) -> str:
    # Drop the discriminator tags pydantic inserts ("imap", "maildir") so the key reads as
    # the officer wrote it.
    parts = [str(p) for p in err["loc"] if p not in _KINDS]
    key = ".".join(parts) or "(top level)"
    message = {
        "missing": "is required but missing",
        "extra_forbidden": "is not a known key",
    }.get(err["type"], err["msg"])
    return f"{path or '<config>'}: {key}: {message}"


PROJECT_DIR = Path(__file__).resolve().parents[1]


def default_settings(data_dir: Path, council: str = "leicestershire") -> Settings:
    """Settings for the embedded default: SQLite and local folders under `data_dir`, with the
    rules, example directory and templates shipped beside the package."""
    data_dir = data_dir.resolve()
    return settings_from_dict(
        {
            "agent": {
                "council": council,
                "mailbox": "iro-escalations@council.example",
                "data_dir": str(data_dir),
                "rules_dir": str(PROJECT_DIR / "rules"),
                "templates_dir": str(PROJECT_DIR / "templates"),
            },
            "directory": {"path": str(PROJECT_DIR / "rules" / "directory.example.toml")},
            "database": {"url": f"sqlite:///{data_dir / 'mailagent.sqlite'}"},
            "source": {"kind": "maildir", "path": str(data_dir / "mailbox")},
            "transport": {"kind": "files", "path": str(data_dir / "sent")},
        }
    )
