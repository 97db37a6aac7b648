"""What every command does first: read the config, set up logging, build the agent, or fail
with one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer

from mailagent.app import Agent
from mailagent.config import ConfigError, Settings, default_settings, load_settings


def settings_from(config: Path | None) -> Settings:
    """The settings in `config`, or the embedded default when there is none."""
    try:
        if config is None:
            return default_settings(Path("var"))
        return load_settings(config)
    except ConfigError as exc:
        fail(str(exc))


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
