"""Children's data stays the service user's: private files under a loose umask, `status`
warnings, and the database password from the environment or a file (never the URL)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mailagent.app import build_agent, database_engine
from mailagent.cli.status import privacy_warnings
from mailagent.clock import FixedClock
from mailagent.config import ConfigError
from mailagent.runners.pipeline import run_once
from tests.servers import _admin_connect
from tests.support import ESCALATION_BODY, email_bytes, london, make_settings, write_config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask of a shell (022): files are world-readable unless we say otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_everything_the_agent_writes_is_private_under_umask_022(
    tmp_path: Path, loose_umask: None
) -> None:
    data = tmp_path / "data"
    settings = make_settings(data)
    (data / "mailbox").mkdir(parents=True)
    (data / "mailbox" / "escalation.eml").write_bytes(email_bytes(
        sender="iro1@example.test", subject="[ESCALATE] Placement drift", body=ESCALATION_BODY))
    agent = build_agent(settings, clock=FixedClock(london(2026, 12, 18, 11)))
    try:
        report = run_once(agent)
        # While the agent runs, SQLite keeps its -wal and -shm files beside the database.
        database = data / "test.sqlite"
        for path in (database, database.with_name("test.sqlite-wal"),
                     database.with_name("test.sqlite-shm")):
            assert _mode(path) == 0o600, path
    finally:
        agent.close()
    assert report.processed == 1 and report.delivery.sent >= 1
    assert _mode(data) == 0o700
    stored = list((data / "mailbox" / ".Processed" / "new").iterdir())
    sent = list((data / "sent" / "new").iterdir())
    assert stored and sent
    for path in stored + sent:
        assert _mode(path) == 0o600, path
    for folder in (data / "mailbox", data / "mailbox" / ".Processed", data / "sent"):
        assert _mode(folder) == 0o700, folder
    assert privacy_warnings(settings) == []


def test_the_command_line_keeps_exports_private_whatever_the_umask(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "mailbox").mkdir()
    (tmp_path / "mailbox" / "escalation.eml").write_bytes(email_bytes(
        sender="iro1@example.test", subject="[ESCALATE] Placement drift", body=ESCALATION_BODY,
        date=london(2026, 12, 18, 10)))
    script = (
        "import os, sys; os.umask(0o022); from mailagent.cli.main import main; "
        "sys.argv = ['mailagent'] + sys.argv[1:]; main()"
    )

    def mailagent(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=120, check=True)

    mailagent("run", "--once", "--config", str(config))
    out = tmp_path / "exports" / "case.json"
    mailagent("case", "export", "ESC-2026-0001", "--out", str(out), "--config", str(config))
    assert _mode(out) == 0o600
    assert _mode(tmp_path / "db.sqlite") == 0o600
    assert "readable by others" not in mailagent("status", "--config", str(config)).stdout


def test_status_warns_about_data_others_can_read(tmp_path: Path, loose_umask: None) -> None:
    settings = make_settings(tmp_path)
    build_agent(settings).close()
    (tmp_path / "test.sqlite").chmod(0o644)
    warnings = privacy_warnings(settings)
    assert any("test.sqlite is readable by others (mode 0644)" in w for w in warnings)


# -- the database password ---------------------------------------------------------------


@pytest.fixture
def password_role(postgres_db_url: str) -> Iterator[tuple[str, str, str]]:
    """A role that must give its password (scripts/postgres.sh makes members of
    `password_auth` use SCRAM); the database URL for it, without the password."""
    role, password = f"ma_pw_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    database = sa.engine.make_url(postgres_db_url).database
    with _admin_connect(postgres_db_url) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' IN ROLE password_auth")
        conn.execute(f'GRANT ALL ON DATABASE "{database}" TO {role}')
    url = sa.engine.make_url(postgres_db_url).set(username=role, password=None)
    try:
        yield url.render_as_string(hide_password=False), role, password
    finally:
        with _admin_connect(postgres_db_url) as conn:
            conn.execute(f'REVOKE ALL ON DATABASE "{database}" FROM {role}')
            conn.execute(f"DROP ROLE {role}")


def test_the_database_password_comes_from_the_environment(
    password_role: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, role, password = password_role
    with pytest.raises(sa.exc.OperationalError, match="password"):
        sa.create_engine(url).connect().close()  # the server does ask for it
    settings = make_settings(tmp_path, database={"url": url,
                                                 "password": {"env": "MA_TEST_DB_PW"}})
    with pytest.raises(ConfigError, match="MA_TEST_DB_PW is not set"):
        database_engine(settings)
    monkeypatch.setenv("MA_TEST_DB_PW", password)
    engine = database_engine(settings)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar() == role
        assert password not in str(engine.url)  # never printed with the URL
    finally:
        engine.dispose()


def test_the_database_password_from_a_file(
    password_role: tuple[str, str, str], tmp_path: Path
) -> None:
    url, _role, password = password_role
    (tmp_path / "db-password").write_text(password + "\n")
    secret = {"file": str(tmp_path / "db-password")}
    settings = make_settings(tmp_path, database={"url": url, "password": secret})
    engine = database_engine(settings)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_password_in_the_url_and_in_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="remove it from the URL"):
        make_settings(tmp_path, database={"url": "postgresql+psycopg://u:secret@db/x",
                                          "password": {"env": "X"}})
