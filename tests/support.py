"""Builders shared by the tests: settings and agents on a temporary folder, and emails."""

from __future__ import annotations

import os
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mailagent.app import Agent, build_agent
from mailagent.clock import FixedClock
from mailagent.config import Settings, settings_from_dict

# The checkout under test: its rules/ and templates/ are the ones the tests use.
PROJECT_DIR = Path(__file__).resolve().parents[1]
LONDON = ZoneInfo("Europe/London")
MAILBOX = "agent@example.test"
# The database every agent built here uses when a test names none: None is a SQLite file in
# the test's folder. tests/servers.py's `each_database` sets it to a fresh PostgreSQL
# database, so a whole module runs on both (production runs on PostgreSQL).
DEFAULT_DATABASE_URL: str | None = None


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def make_settings(
    tmp: Path,
    *,
    council: str = "leicestershire",
    source: dict[str, Any] | None = None,
    transport: dict[str, Any] | None = None,
    database_url: str | None = None,
    rules_dir: Path = PROJECT_DIR / "rules",
    **sections: Any,
) -> Settings:
    data = {
        "agent": {
            "council": council,
            "mailbox": MAILBOX,
            "data_dir": str(tmp),
            "rules_dir": str(rules_dir),
            "templates_dir": str(PROJECT_DIR / "templates"),
        },
        "database": {"url": database_url or DEFAULT_DATABASE_URL
                     or f"sqlite:///{tmp / 'test.sqlite'}"},
        "directory": {"path": str(PROJECT_DIR / "rules" / "directory.example.toml")},
        "source": source or {"kind": "maildir", "path": str(tmp / "mailbox")},
        "transport": transport or {"kind": "files", "path": str(tmp / "sent")},
        # Test mail passes no receiving server; tests/test_forgery.py switches this on.
        "authentication": {"require": "off"},
        **sections,
    }
    return settings_from_dict(data)


def make_agent(tmp: Path, at: datetime, **kwargs: Any) -> tuple[Agent, FixedClock]:
    clock = FixedClock(at)
    agent_kwargs = {k: kwargs.pop(k) for k in ("source", "transport") if k in kwargs}
    agent = build_agent(make_settings(tmp, **kwargs), clock=clock, **agent_kwargs)
    return agent, clock


def smtp_transport(servers: Any) -> dict[str, Any]:
    return {"kind": "smtp", "host": servers.smtp_host, "port": servers.smtp_port,
            "security": "none"}


def imap_source(servers: Any, user: str = "agent") -> dict[str, Any]:
    return {
        "kind": "imap", "host": servers.imap_host, "port": servers.imap_port, "ssl": False,
        "username": f"{user}@example.test", "password": {"env": "MAILAGENT_TEST_IMAP_PASSWORD"},
        "poll_seconds": 1,
    }


def email_bytes(
    *,
    sender: str,
    subject: str,
    body: str,
    to: str = MAILBOX,
    cc: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    date: datetime | None = None,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain email as a person's client would send it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime(2026, 12, 18, 10, tzinfo=LONDON))
    msg["Message-ID"] = make_msgid(domain="example.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


ESCALATION_BODY = """Child: 123456
Plan: LAC
Team: North
Social worker: Sam Walker
Category: Placement
Issue: The placement plan agreed at the review on 3 December has not been started.
Impact on child: The child remains in an unsuitable placement and has missed school.
Resolution sought: A placement search to begin this week and an update to the IRO.
"""


def server_agent(servers: Any, tmp: Path, monkeypatch: Any, at: datetime,
                 council: str = "leicestershire") -> tuple[Agent, FixedClock]:
    """An agent reading agent@example.test on the real Dovecot and sending by the real SMTP."""
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", servers.password)
    settings = make_settings(tmp, council=council, source=imap_source(servers),
                             transport=smtp_transport(servers))
    clock = FixedClock(at)
    return build_agent(settings, clock=clock), clock


def drop(agent: Agent, name: str, raw: bytes) -> Path:
    """Put `raw` in the agent's Maildir as `name`, delivered (its mtime) at the agent's clock
    time, as if it had just arrived."""
    path = agent.settings.source.path / name  # type: ignore[union-attr]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    arrived = agent.clock.now().timestamp()
    os.utime(path, (arrived, arrived))
    return path


def arrive(servers: Any, agent: Agent, raw: bytes) -> None:
    """Deliver `raw` into the shared mailbox on the real Dovecot, received (INTERNALDATE) at
    the agent's clock time, as if it had just arrived."""
    servers.deliver("agent", raw, agent.clock.now())


def headers_of(raw: bytes) -> dict[str, Any]:
    """Subject, To, Cc (addresses) and the text of a delivered email."""
    from email import message_from_bytes, policy
    from email.utils import getaddresses

    msg = message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(("plain",))
    return {
        "subject": str(msg["Subject"]),
        "to": sorted(a for _, a in getaddresses([str(msg.get("To", ""))])),
        "cc": sorted(a for _, a in getaddresses([str(msg.get("Cc", ""))]) if a),
        "text": body.get_content() if body else "",
        "message": msg,
    }


def write_config(tmp: Path, *, source: dict[str, Any] | None = None,
                 transport: dict[str, Any] | None = None) -> Path:
    """A config file like a council officer's, for tests of the command line."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return f'"{v}"'

    def table(name: str, items: dict[str, Any]) -> str:
        return f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in items.items())

    path = tmp / "config.toml"
    path.write_text("\n".join([
        table("agent", {"council": "leicestershire", "mailbox": MAILBOX,
                        "rules_dir": PROJECT_DIR / "rules",
                        "templates_dir": PROJECT_DIR / "templates", "data_dir": tmp}),
        table("database", {"url": f"sqlite:///{tmp / 'db.sqlite'}"}),
        table("directory", {"path": PROJECT_DIR / "rules" / "directory.example.toml"}),
        table("source", source or {"kind": "maildir", "path": tmp / "mailbox"}),
        table("transport", transport or {"kind": "files", "path": tmp / "sent"}),
        table("authentication", {"require": "off"}),
    ]))
    return path
