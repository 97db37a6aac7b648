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


SourceSettings = Annotated[
    MaildirSourceSettings | ImapSourceSettings, Field(discriminator="kind")
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


TransportSettings = Annotated[
    FilesTransportSettings | SmtpTransportSettings, Field(discriminator="kind")
]


class OutboxSettings(_Section):
    max_attempts: int = Field(default=8, ge=1)
    backoff_seconds: float = Field(default=60.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)


class OAuthSettings(_Section):
    tenant_id: str
    client_id: str
    client_secret: Secret | None = None
    certificate_file: Path | None = None
    certificate_thumbprint: str | None = None
    scopes: list[str] = ["https://outlook.office365.com/.default"]


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
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _xoauth2_needs_oauth(self) -> Settings:
        uses_oauth = getattr(self.source, "auth", None) == "xoauth2" or (
            getattr(self.transport, "auth", None) == "xoauth2"
        )
        if uses_oauth and self.oauth is None:
            raise ValueError("xoauth2 is chosen but there is no [oauth] section")
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


def _describe(path: Path | None, err: dict) -> str:
    # Drop the discriminator tags pydantic inserts ("imap", "maildir") so the key reads as
    # the officer wrote it.
    parts = [str(p) for p in err["loc"] if p not in ("imap", "maildir", "files", "smtp")]
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
