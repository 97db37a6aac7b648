"""Where a mail source keeps its place between runs (a Graph delta link): SourceState.cursor."""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from mailagent.store.models import SourceState


class CursorStore(Protocol):
    def load(self, source: str) -> str | None: ...

    def save(self, source: str, cursor: str | None) -> None: ...


class DatabaseCursors:
    """Cursors in the source_state table, beside the UIDVALIDITY and last-heard time."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def load(self, source: str) -> str | None:
        with Session(self._engine) as session:
            state = session.get(SourceState, source)
            return state.cursor if state else None

    def save(self, source: str, cursor: str | None) -> None:
        with Session(self._engine) as session:
            state = session.get(SourceState, source) or SourceState(source=source)
            state.cursor = cursor
            session.add(state)
            session.commit()


class MemoryCursors:
    """Cursors in memory only, lost when the process ends (tests)."""

    def __init__(self) -> None:
        self._cursors: dict[str, str | None] = {}

    def load(self, source: str) -> str | None:
        return self._cursors.get(source)

    def save(self, source: str, cursor: str | None) -> None:
        self._cursors[source] = cursor
