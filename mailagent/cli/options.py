"""Options shared by the `mailagent` commands (here so that every command module can import
them without importing the others)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="MAILAGENT_CONFIG",
        help="The TOML config file. Without one, the embedded default (SQLite and local "
        "folders under ./var) is used.",
    ),
]
