"""The store: migrations run on an empty SQLite and PostgreSQL, and datetimes stay UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from mailagent.store.db import create_db_engine, upgrade
from mailagent.store.models import Case, CaseEvent, Outbound

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


def _carry_over_case_extra(engine: sa.Engine) -> None:
    """A database from before 0002, with state in Case.extra, keeps that state in the new
    columns and tables; an alert waiting for agreement is in 0003's "agreement" state."""
    upgrade(engine, "0001")
    deadline = datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
    extra_escalation = {
        "visit": 3, "root_message_id": "<first@example.test>", "stage_days": 5,
        "extensions": 1, "pauses": 2, "paused_from": "awaiting_response",
        "reminded": f"3:stage_2:{deadline.isoformat()}",
        "process_breach_flagged": "2026-12-09T10:00:00+00:00",
        "stand_ins": {"stage_2": {"deputy@example.test": "sm1@example.test"}},
    }
    extra_alert = {"root_message_id": "<ca@example.test>", "followups": 2,
                   "raised_on": "2026-10-01", "ack_due": "2026-10-15",
                   "response_due": "2026-10-29", "agreed_by": "gm@example.test",
                   "acknowledged_at": "2026-10-05T09:00:00+00:00",
                   "ack_overdue": "2026-10-16T09:00:00+00:00"}
    case = sa.table("case", sa.column("ref"), sa.column("kind"), sa.column("status"),
                    sa.column("iro_email"), sa.column("fields", sa.JSON),
                    sa.column("extra", sa.JSON), sa.column("opened_at", sa.DateTime(True)),
                    sa.column("stage_id"), sa.column("stage_state"),
                    sa.column("stage_deadline", sa.DateTime(True)))
    with engine.begin() as conn:
        conn.execute(case.insert(), [
            {"ref": "ESC-2026-0001", "kind": "escalation", "status": "open",
             "iro_email": "iro1@example.test", "fields": {}, "extra": extra_escalation,
             "opened_at": deadline, "stage_id": "stage_2", "stage_state": "awaiting_response",
             "stage_deadline": deadline},
            {"ref": "CA-2026-0001", "kind": "collective_alert", "status": "open",
             "iro_email": "iro1@example.test", "fields": {}, "extra": extra_alert,
             "opened_at": deadline, "stage_id": "raised", "stage_state": "awaiting_ack",
             "stage_deadline": None},
            # Waiting for the Group Manager's agreement, before the drafting steps existed.
            {"ref": "CA-2026-0002", "kind": "collective_alert", "status": "open",
             "iro_email": "iro1@example.test", "fields": {}, "extra": {},
             "opened_at": deadline, "stage_id": "draft", "stage_state": "draft",
             "stage_deadline": None},
        ])
        # Rows pointing at the case: SQLite's copy-and-drop of "case" must keep them valid.
        conn.execute(sa.text("INSERT INTO case_event (case_id, at, kind, detail) "
                             "SELECT id, opened_at, 'opened', '{}' FROM \"case\""))
    upgrade(engine)
    assert "extra" not in {c["name"] for c in sa.inspect(engine).get_columns("case")}
    with Session(engine) as session:
        esc = session.exec(sa.select(Case).where(Case.ref == "ESC-2026-0001")).scalars().one()
        assert (esc.stage_visit, esc.root_message_id, esc.stage_working_days) == (
            3, "<first@example.test>", 5)
        assert (esc.extensions, esc.pauses, esc.paused_from) == (1, 2, "awaiting_response")
        assert esc.reminded_for == deadline
        assert esc.process_breach_at == datetime(2026, 12, 9, 10, tzinfo=UTC)
        assert [(s.stage_id, s.deputy_email, s.absent_email) for s in esc.stand_ins] == [
            ("stage_2", "deputy@example.test", "sm1@example.test")]
        alert = session.exec(sa.select(Case).where(Case.ref == "CA-2026-0001")).scalars().one()
        assert alert.alert is not None and alert.root_message_id == "<ca@example.test>"
        assert (alert.alert.followups, str(alert.alert.ack_due), alert.alert.agreed_by) == (
            2, "2026-10-15", "gm@example.test")
        assert alert.alert.ack_overdue_at == datetime(2026, 10, 16, 9, tzinfo=UTC)
        assert alert.alert.response_overdue_at is None
        waiting = session.exec(sa.select(Case).where(Case.ref == "CA-2026-0002")).scalars().one()
        assert (waiting.stage_id, waiting.stage_state) == ("draft", "agreement")
        assert alert.stage_state == "awaiting_ack"
        assert session.exec(sa.select(sa.func.count()).select_from(CaseEvent)).scalar() == 3


def test_sqlite_carries_case_state_into_typed_columns(tmp_path: Path) -> None:
    _carry_over_case_extra(create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))


@pytest.mark.postgres
def test_postgresql_carries_case_state_into_typed_columns(postgres_db_url: str) -> None:
    _carry_over_case_extra(create_db_engine(postgres_db_url))


def _carry_over_failed_outbound(engine: sa.Engine) -> None:
    """An email given up on before 0004 (when the outbox gave up after 8 attempts) was
    given up on for all its recipients: `mailagent outbox requeue` can send it again."""
    upgrade(engine, "0003")
    queued = datetime(2026, 12, 1, 10, tzinfo=UTC)
    outbound = sa.table("outbound", *(sa.column(name) for name in (
        "dedupe_key", "message_id", "purpose", "raw", "status", "attempts")),
        sa.column("recipients", sa.JSON), sa.column("created_at", sa.DateTime(True)),
        sa.column("not_before", sa.DateTime(True)))
    with engine.begin() as conn:
        conn.execute(outbound.insert(), [
            {"dedupe_key": key, "message_id": f"<{key}@example.test>", "purpose": "escalation",
             "raw": b"Subject: x\r\n\r\nx\r\n", "status": status, "attempts": 8,
             "recipients": ["tm1@example.test", "sw1@example.test"], "created_at": queued,
             "not_before": queued}
            for key, status in (("given-up", "failed"), ("delivered", "sent"))])
    upgrade(engine)
    with Session(engine) as session:
        rows = {row.dedupe_key: row for row in session.exec(sa.select(Outbound)).scalars()}
    assert rows["given-up"].refused == ["tm1@example.test", "sw1@example.test"]
    assert rows["delivered"].refused == [] and rows["delivered"].requeued_at is None


def test_sqlite_keeps_who_an_old_failed_email_missed(tmp_path: Path) -> None:
    _carry_over_failed_outbound(create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))


@pytest.mark.postgres
def test_postgresql_keeps_who_an_old_failed_email_missed(postgres_db_url: str) -> None:
    _carry_over_failed_outbound(create_db_engine(postgres_db_url))


def _carry_over_next_due(engine: sa.Engine) -> None:
    """Cases open before 0007 are looked at by the first sweep after it (which works out
    each one's next timer); closed ones have none."""
    from mailagent.store.models import CHECK_NOW

    upgrade(engine, "0006")
    opened = datetime(2026, 11, 2, 10, tzinfo=UTC)
    case = sa.table("case", *(sa.column(name) for name in (
        "ref", "kind", "status", "iro_email", "stage_visit", "extensions", "pauses")),
        sa.column("fields", sa.JSON), sa.column("opened_at", sa.DateTime(True)))
    with engine.begin() as conn:
        conn.execute(case.insert(), [
            {"ref": ref, "kind": "escalation", "status": status, "iro_email": "iro1@example.test",
             "stage_visit": 1, "extensions": 0, "pauses": 0, "fields": {}, "opened_at": opened}
            for ref, status in (("ESC-2026-0001", "open"), ("ESC-2026-0002", "closed"))])
    upgrade(engine)
    with Session(engine) as session:
        rows = {row.ref: row for row in session.exec(sa.select(Case)).scalars()}
    assert rows["ESC-2026-0001"].next_due_at == CHECK_NOW
    assert rows["ESC-2026-0002"].next_due_at is None


def test_sqlite_has_the_first_sweep_look_at_every_open_case(tmp_path: Path) -> None:
    _carry_over_next_due(create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))


@pytest.mark.postgres
def test_postgresql_has_the_first_sweep_look_at_every_open_case(postgres_db_url: str) -> None:
    _carry_over_next_due(create_db_engine(postgres_db_url))


def _schema_differences(engine: sa.Engine) -> list[object]:
    """What autogenerate would change: the migrations' schema against the models'."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    upgrade(engine)
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))


def test_migrations_make_the_schema_the_models_describe_on_sqlite(tmp_path: Path) -> None:
    assert _schema_differences(create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")) == []


@pytest.mark.postgres
def test_migrations_make_the_schema_the_models_describe_on_postgresql(
    postgres_db_url: str,
) -> None:
    engine = create_db_engine(postgres_db_url)
    try:
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()
