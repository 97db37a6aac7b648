"""What every command does first: read the config, set up logging, build the agent, or fail
with one clear line; and what every command does last when a server it needs is down: say so
in one line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NoReturn

import click
import typer
from typer.core import TyperGroup

from mailagent.app import Agent
from mailagent.config import ConfigError, Settings, default_settings, load_settings

log = logging.getLogger("mailagent")

# The settings the command runs with, for saying where a fault happened.
_in_use: list[Settings] = []

UNAVAILABLE = 4  # exit status: a server the command needs is down; try again later


def settings_from(config: Path | None) -> Settings:
    """The settings in `config`, or the embedded default when there is none."""
    try:
        settings = default_settings(Path("var")) if config is None else load_settings(config)
    except ConfigError as exc:
        fail(str(exc))
    _in_use[:] = [settings]
    return settings


class FaultsInOneLine(TyperGroup):
    """Every command, with a database or mailbox that cannot be used reported in one line on
    standard error (what, where, what happens now) and exit status 4, not a traceback. The
    traceback is logged at DEBUG (`[logging] level = "DEBUG"`)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            line = _fault_line(exc)
            if line is None:
                raise  # a fault of ours: the traceback is what helps
            if _in_use and _in_use[0].logging.level == "DEBUG":
                setup_logging(_in_use[0])
                log.debug("%s", line, exc_info=exc)
            typer.echo(line, err=True)
            raise typer.Exit(UNAVAILABLE) from None


def _fault_line(exc: Exception) -> str | None:
    from mailagent.runners.instance import AlreadyRunning
    from mailagent.sources.base import SourceError
    from mailagent.store.db import is_outage, outage_reason, where

    settings = _in_use[0] if _in_use else None
    if is_outage(exc):
        place = where(settings.database.url) if settings else "the database"
        return (f"mailagent: the database is unavailable ({place}: {outage_reason(exc)}); "
                "nothing was changed: try again once it is back")
    if isinstance(exc, SourceError):
        place = _mailbox(settings) if settings else "the mailbox"
        return (f"mailagent: the mailbox is unavailable ({place}: {exc}); the mail waits "
                "on the server: try again once it is back")
    if isinstance(exc, AlreadyRunning):
        return f"mailagent: {exc}; this one stopped"
    return None


def _mailbox(settings: Settings) -> str:
    source = settings.source
    if source.kind == "imap":
        return f"IMAP {source.username}@{source.host}:{source.port}"  # type: ignore[union-attr]
    if source.kind == "maildir":
        return f"Maildir {source.path}"  # type: ignore[union-attr]
    return f"{source.kind} {getattr(source, 'mailbox', None) or settings.agent.mailbox}"


def fail(message: str, code: int = 2) -> NoReturn:
    """Say what is wrong on standard error and exit with `code`."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


def setup_logging(settings: Settings) -> None:
    from mailagent.logs import configure_logging

    configure_logging(settings.logging.level, json_format=settings.logging.json_format)


def open_agent(settings: Settings, **kwargs: Any) -> Agent:
    """The agent built from `settings`, or exit saying why it cannot start."""
    from mailagent.app import build_agent

    try:
        return build_agent(settings, **kwargs)
    except ConfigError as exc:
        fail(f"mailagent cannot start:\n{exc}")
