"""Where a mail source keeps its place between runs (a Graph delta link): SourceState.cursor."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from mailagent.store.models import SourceState


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
