"""The `[summary]` section of the config file, with no imports from the rest of mailagent,
so that `mailagent.config` can use it without an import cycle."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field


class SummarySettings(BaseModel):
    """The daily summary email: when it goes, to whom, and whether on quiet days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    send_at: time = Field(default=time(8, 0), description="local time on working days")
    to: list[str] = Field(default=["iro_team_manager"], description="directory roles")
    send_empty: bool = Field(default=False, description="send even when there is nothing")
    per_iro: bool = Field(default=False, description="also send each IRO their own cases")
