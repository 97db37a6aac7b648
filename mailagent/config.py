"""One TOML file -> typed, validated settings; secrets come from the environment or a file.

A wrong or missing key stops the program at start with a message that names the file and
the key, because a council officer edits this file by hand. Relative paths in the file are
taken from the file's own folder, whatever the working directory, and are absolute once loaded.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailagent import shipped
from mailagent.safety import AuthenticationSettings, LimitsSettings, RetentionSettings


class ConfigError(Exception):
    """The configuration cannot be used; str() is one line per problem, naming file and key."""


def _from_config_folder(value: Path, info: ValidationInfo) -> Path:
    folder = (info.context or {}).get("folder")
    if folder is None or value.is_absolute():
        return value
    return (folder / value).resolve()


# A path in the config file: a relative one is taken from the config file's folder.
ConfigPath = Annotated[Path, AfterValidator(_from_config_folder)]


class _Section(BaseModel):
    # Defaults are validated too, so a default path is also taken from the config's folder.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Secret(_Section):
    """A secret named by where to find it, never written in the file itself."""

    env: str | None = None
    file: ConfigPath | None = None

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
    rules_dir: ConfigPath = Path("rules")
    templates_dir: ConfigPath = Path("templates")
    data_dir: ConfigPath = Path("var")
    max_emails_per_recipient_per_case_per_day: int = Field(default=10, ge=1)


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/mailagent.sqlite"
    # Given to the database driver, never written in the URL; required once configured.
    password: Secret | None = None

    @field_validator("url")
    @classmethod
    def _sqlite_file_from_config_folder(cls, url: str, info: ValidationInfo) -> str:
        prefix = "sqlite:///"  # four slashes is an absolute path, "sqlite://" is in memory
        if not url.startswith(prefix) or url.startswith(prefix + "/") or url == prefix:
            return url
        return prefix + str(_from_config_folder(Path(url[len(prefix):]), info))

    @model_validator(mode="after")
    def _password_in_one_place(self) -> DatabaseSettings:
        if self.password is not None and _url_password(self.url):
            raise ValueError(
                "the URL holds a password as well as `password`: remove it from the URL"
            )
        return self


class CalendarSettings(_Section):
    timezone: str = "Europe/London"
    cutoff: time = time(17, 0)
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(17, 0)
    closures: list[date] = []


class DirectorySettings(_Section):
    path: ConfigPath = Path("rules/directory.example.toml")


class MaildirSourceSettings(_Section):
    kind: Literal["maildir"] = "maildir"
    path: ConfigPath = Path("var/mailbox")


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
    # A council's own CA certificate(s), PEM, besides the system's; verification stays on.
    ca_file: ConfigPath | None = None

    @model_validator(mode="after")
    def _tls_fits_the_port(self) -> ImapSourceSettings:
        if self.ssl and self.starttls:
            raise ValueError("choose ssl = true (implicit TLS, port 993) or starttls = true "
                             "with ssl = false (port 143), not both")
        if self.port == 143 and self.ssl:
            raise ValueError("port 143 has no implicit TLS: set ssl = false and starttls = "
                             "true, or use port 993")
        if self.port == 993 and not self.ssl:
            raise ValueError("port 993 expects implicit TLS: set ssl = true, or use port 143")
        return self


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
    path: ConfigPath = Path("var/sent")


class SmtpTransportSettings(_Section):
    kind: Literal["smtp"]
    host: str
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: Secret | None = None
    auth: Literal["none", "password", "xoauth2"] = "none"
    timeout_seconds: float = Field(default=30.0, gt=0)
    # A council's own CA certificate(s), PEM, besides the system's; verification stays on.
    ca_file: ConfigPath | None = None


class GraphTransportSettings(_GraphMailbox):
    # No save_to_sent_items: sendMail with a MIME body (which keeps our Message-ID and
    # threading headers) always saves a copy in Sent Items, so the key could not be honoured.
    kind: Literal["graph"]


class EwsTransportSettings(_EwsMailbox):
    kind: Literal["ews"]
    save_to_sent_items: bool = True


TransportSettings = Annotated[
    FilesTransportSettings | SmtpTransportSettings | GraphTransportSettings
    | EwsTransportSettings,
    Field(discriminator="kind"),
]


class OutboxSettings(_Section):
    give_up_after_days: float = Field(
        default=5.0, gt=0,
        description="how long an email the server puts off is kept trying (Postfix: 5 days)")
    warn_after_hours: float = Field(
        default=4.0, gt=0, description="when the IRO is told a case's email is late")
    backoff_seconds: float = Field(default=60.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)


class OAuthSettings(_Section):
    """An Entra app's client credentials (Microsoft 365): a secret or a certificate."""

    tenant_id: str
    client_id: str
    client_secret: Secret | None = None
    # A PEM file holding the private key (and the certificate), or a .pfx/.p12 file.
    certificate_file: ConfigPath | None = None
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
    authentication: AuthenticationSettings = AuthenticationSettings()
    limits: LimitsSettings = LimitsSettings()
    retention: RetentionSettings = RetentionSettings()
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _absent_sections_as_empty(cls, data: Any) -> Any:
        # Validated like an empty section, so its default paths come from the config's folder.
        return {**_ABSENT_SECTIONS, **data} if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _oauth_needs_oauth_section(self) -> Settings:
        for name, section in (("source", self.source), ("transport", self.transport)):
            if self.oauth is None and getattr(section, "auth", None) == "xoauth2":
                raise ValueError(f"{name}: xoauth2 is chosen but there is no [oauth] section")
            if self.oauth is None and section.kind == "graph":
                raise ValueError(f"{name}: Microsoft Graph needs an [oauth] section")
        return self


    def database_password(self) -> str | None:
        """The database password from the environment or a file; ConfigError if it is
        configured and cannot be read."""
        return self.database.password.reveal() if self.database.password else None


_ABSENT_SECTIONS: dict[str, dict[str, str]] = {
    "database": {}, "calendar": {}, "directory": {}, "source": {"kind": "maildir"},
    "transport": {"kind": "files"}, "outbox": {}, "logging": {}, "summary": {},
}


def _url_password(url: str) -> bool:
    """Whether a database URL carries a password ("user:secret@host")."""
    credentials = url.partition("://")[2].rpartition("@")
    return bool(credentials[1]) and ":" in credentials[0]


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
    """Validate `data`; with a `path`, relative paths in it are taken from the path's folder."""
    folder = path.resolve().parent if path is not None else None
    try:
        return Settings.model_validate({**data, "path": path}, context={"folder": folder})
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(path, err) for err in exc.errors())) from exc


# The sections whose keys depend on their `kind`, and the model for each kind.
_KINDS: dict[str, dict[str, type[BaseModel]]] = {
    section: {get_args(model.model_fields["kind"].annotation)[0]: model for model in models}
    for section, models in (
        ("source", get_args(get_args(SourceSettings)[0])),
        ("transport", get_args(get_args(TransportSettings)[0])),
    )
}


def _describe(path: Path | None, err: dict) -> str:
    loc = [str(p) for p in err["loc"]]
    kinds = _KINDS.get(loc[0], {}) if loc else {}
    kind = loc[1] if len(loc) > 1 and loc[1] in kinds else None
    # Drop the kind pydantic inserts ("source.imap.host") so the key reads as it was written.
    key = ".".join(loc[:1] + loc[2:] if kind else loc) or "(top level)"
    message = {
        "missing": "is required but missing",
        "extra_forbidden": "is not a known key",
        "union_tag_not_found": f"kind is required: one of {', '.join(kinds)}",
        "union_tag_invalid": f"kind must be one of {', '.join(kinds)}",
        "value_error": str(err.get("ctx", {}).get("error", err["msg"])),
    }.get(err["type"], err["msg"])
    if err["type"] == "extra_forbidden" and kind:
        takers = " or ".join(
            f'"{name}"' for name, model in kinds.items() if loc[-1] in model.model_fields
        )
        message = f'is not a key for kind = "{kind}"' + (
            f" (it is for kind = {takers})" if takers else ""
        )
    return f"{path or '<config>'}: {key}: {message}"


def default_settings(data_dir: Path, council: str = "leicestershire") -> Settings:
    """Settings for the embedded default: SQLite and local folders under `data_dir`, with the
    rules, example directory and templates shipped with mailagent."""
    data_dir = data_dir.resolve()
    return settings_from_dict(
        {
            "agent": {
                "council": council,
                "mailbox": "iro-escalations@council.example",
                "data_dir": str(data_dir),
                "rules_dir": str(shipped.rules_dir()),
                "templates_dir": str(shipped.templates_dir()),
            },
            "directory": {"path": str(shipped.rules_dir() / "directory.example.toml")},
            "database": {"url": f"sqlite:///{data_dir / 'mailagent.sqlite'}"},
            "source": {"kind": "maildir", "path": str(data_dir / "mailbox")},
            "transport": {"kind": "files", "path": str(data_dir / "sent")},
            # Mail dropped into a local folder passed no receiving server to vouch for it.
            "authentication": {"require": "off"},
        }
    )
