"""The database: engine set-up (SQLite pragmas or PostgreSQL) and schema migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session

from mailagent.private import create_private, private_dir

MIGRATIONS = Path(__file__).parent / "migrations"
# How long SQLite waits for another process's write lock before saying "database is locked".
SQLITE_BUSY_SECONDS = 30.0

log = logging.getLogger(__name__)


def create_db_engine(url: str, password: str | None = None) -> sa.Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and a private file.

    `password` (from `[database] password`) goes to the driver and is never written in the
    URL. Statement parameters are kept out of error messages: they hold children's details,
    and an error message ends up in the log.
    """
    target = sa.engine.make_url(url)
    if password is not None:
        target = target.set(password=password)
    if target.get_backend_name() == "sqlite":
        path = target.database
        if path and path != ":memory:":
            _private_sqlite_file(Path(path))
        engine = sa.create_engine(target, connect_args={"timeout": SQLITE_BUSY_SECONDS},
                                  hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(target, pool_pre_ping=True, hide_parameters=True)


def _private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does; SQLite gives its -wal and -shm files
    the database file's mode, so they are private too. A folder made for it is 0700."""
    if not path.parent.exists():
        private_dir(path.parent)
    create_private(path)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent).

    A schema already at the latest revision is left alone without a word, so that a quiet
    `run --once` from cron prints nothing; a migration is logged once, as one line.
    """
    config = alembic_config(engine)
    before = _revisions(engine)
    if revision == "head" and before == set(ScriptDirectory.from_config(config).get_heads()):
        return
    command.upgrade(config, revision)
    log.info("database schema upgraded from %s to %s",
             ", ".join(sorted(before)) or "nothing", ", ".join(sorted(_revisions(engine))))


def _revisions(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_outage(exc: BaseException) -> bool:
    """True for a database error about the database rather than the data: unreachable,
    restarted, locked by another process, out of disk, read-only. Such an error says nothing
    about the message or case in hand; the work is tried again once the database is back.
    """
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        )
    return isinstance(exc, sa.exc.DisconnectionError | sa.exc.TimeoutError)


def outage_reason(exc: BaseException) -> str:
    """What the database (or its driver) said, in one line, without statement or values."""
    said = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(said).splitlines() if line.strip()]
    return (lines[0] if lines else type(said).__name__)[:200]


def where(engine_or_url: sa.Engine | str) -> str:
    """The database's address for a message: its URL without a password."""
    url = engine_or_url if isinstance(engine_or_url, str) else engine_or_url.url
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[Session]:
    """A session whose work commits together at the end, or not at all."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
