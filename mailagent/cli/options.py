"""Options shared by the `mailagent` commands (here so that every command module can import
them without importing the others)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _or_given_before_the_command(ctx: typer.Context, value: Path | None) -> Path | None:
    # `mailagent --config FILE run` (as the systemd unit runs it) is `mailagent run --config
    # FILE`: the option after the command wins, then the one before it, then MAILAGENT_CONFIG.
    source = ctx.get_parameter_source("config")
    root = ctx.find_root()
    if root is ctx or (source is not None and source.name == "COMMANDLINE"):
        return value
    return root.params.get("config") or value


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="MAILAGENT_CONFIG", callback=_or_given_before_the_command,
        help="The TOML config file. Without one, the embedded default (SQLite and local "
        "folders under ./var) is used.",
    ),
]
