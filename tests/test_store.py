"""The store: migrations run on an empty SQLite and PostgreSQL, and datetimes stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from mailagent.store.db import create_db_engine, upgrade
from mailagent.store.models import Case

TABLES = {"inbound", "case", "case_event", "participant", "message_ref", "conversation_ref",
          "outbound", "source_state", "counter", "alembic_version"}


def _exercise(engine: sa.Engine) -> None:
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    opened = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    with Session(engine) as session:
        session.add(Case(ref="ESC-2026-0001", kind="escalation", iro_email="iro1@example.test",
                         opened_at=opened, fields={"issue": "Łukasz — café £"}))
        session.commit()
    with Session(engine) as session:
        case = session.exec(sa.select(Case)).scalars().one()
        assert case.opened_at == opened and case.opened_at.tzinfo is not None
        assert case.opened_at.utcoffset() == timedelta(0)
        assert case.fields["issue"] == "Łukasz — café £"


def test_sqlite_migrates_from_empty(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'sub' / 'db.sqlite'}")
    _exercise(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    from mailagent.store.models import CaseEvent

    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    with Session(engine) as session, pytest.raises(sa.exc.IntegrityError):
        session.add(CaseEvent(case_id=999, at=datetime.now(UTC), kind="x", detail={}))
        session.commit()


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    with Session(engine) as session, pytest.raises(sa.exc.StatementError):
        session.add(Case(ref="X", kind="escalation", iro_email="a@b", opened_at=datetime.now()))
        session.commit()


@pytest.mark.postgres
def test_postgresql_migrates_from_empty(postgres_db_url: str) -> None:
    engine = create_db_engine(postgres_db_url)
    try:
        _exercise(engine)
    finally:
        engine.dispose()


def test_database_errors_do_not_carry_the_values(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    opened = datetime(2026, 1, 5, 10, tzinfo=UTC)
    with Session(engine) as session:
        session.add(Case(ref="ESC-2026-0001", kind="escalation", iro_email="a@b",
                         opened_at=opened, fields={"issue": "Amelia Jones"}))
        session.commit()
    with Session(engine) as session, pytest.raises(sa.exc.IntegrityError) as caught:
        session.add(Case(ref="ESC-2026-0001", kind="escalation", iro_email="a@b",
                         opened_at=opened, fields={"issue": "Amelia Jones"}))
        session.commit()
    assert "Amelia" not in str(caught.value)
