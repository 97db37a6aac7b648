"""The command line: every command has --help, and the small commands do what they say."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailagent.cli.main import app
from tests.support import PROJECT_DIR, write_config

runner = CliRunner()


def _config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def _commands(typer_app, prefix=()):  # type: ignore[no-untyped-def]
    import typer.main

    group = typer.main.get_command(typer_app)
    stack = [(prefix, group)]
    while stack:
        path, command = stack.pop()
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            stack.append(((*path, name), sub))


def test_every_command_has_help() -> None:
    paths = list(_commands(app))
    assert {("run",), ("demo",), ("db", "upgrade"), ("rules", "check"), ("deadline",),
            ("inspect",), ("sweep",), ("status",)} <= set(paths)
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_deadline_over_christmas() -> None:
    result = runner.invoke(app, ["deadline", "2026-12-18", "--working-days", "5"])
    assert result.exit_code == 0
    assert result.output.strip() == "2026-12-29"
    closed = runner.invoke(
        app, ["deadline", "2026-12-18", "--working-days", "5", "--closure", "2026-12-24"]
    )
    assert closed.output.strip() == "2026-12-30"


def test_a_message_after_the_cutoff_counts_from_the_next_working_day() -> None:
    result = runner.invoke(app, ["deadline", "2026-12-18T17:30", "--working-days", "1"])
    assert result.output.strip() == "2026-12-22"  # received Monday 21st; +1 working day


def test_rules_check_passes_on_the_shipped_rules() -> None:
    result = runner.invoke(app, ["rules", "check", str(PROJECT_DIR / "rules")])
    assert result.exit_code == 0, result.output
    assert "all rules are valid" in result.output


def test_rules_check_of_a_missing_folder_names_that_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "check", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert result.output == f"{tmp_path / 'nowhere'}: there is no such folder\n"


def test_run_refuses_invalid_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_DIR / "rules", rules)
    ladder = rules / "ladders" / "leicestershire.toml"
    ladder.write_text(ladder.read_text().replace('to = "team_manager"', 'to = "team_boss"', 1))
    config = _config(tmp_path)
    config.write_text(config.read_text().replace(str(PROJECT_DIR / "rules") + '"',
                                                 str(rules) + '"', 1))
    result = runner.invoke(app, ["run", "--once", "--config", str(config)])
    assert result.exit_code == 2
    assert "the rules have problems" in result.output
    assert "leicestershire.toml" in result.output and "team_boss" in result.output


def test_bad_config_is_named_at_start(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[agent]\ncouncil = 'leicestershire'\n")
    result = runner.invoke(app, ["run", "--once", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}: agent.mailbox: is required but missing" in result.output


def test_db_upgrade_run_once_and_status(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert runner.invoke(app, ["db", "upgrade", "--config", str(config)]).exit_code == 0
    (tmp_path / "mailbox").mkdir()
    (tmp_path / "mailbox" / "hello.eml").write_bytes(
        b"From: someone@elsewhere.test\r\nTo: agent@example.test\r\nSubject: hi\r\n"
        b"Message-ID: <x@elsewhere.test>\r\n\r\nhello\r\n"
    )
    result = runner.invoke(app, ["run", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "fetched 1, processed 0, quarantined 1" in result.output
    status = runner.invoke(app, ["status", "--config", str(config)])
    assert status.exit_code == 0, status.output
    assert "inbound:        quarantined 1" in status.output
    assert "last heard:     never" not in status.output


@pytest.mark.parametrize("now", ["2026-12-30T08:00:00+00:00"])
def test_sweep_dry_run_changes_nothing(tmp_path: Path, now: str) -> None:
    config = _config(tmp_path)
    result = runner.invoke(app, ["sweep", "--config", str(config), "--now", now, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "nothing is due" in result.output


def test_run_once_waits_for_no_one_while_a_daemon_holds_the_mailbox(tmp_path: Path) -> None:
    from mailagent.app import build_agent
    from mailagent.config import load_settings
    from mailagent.runners.instance import instance_lock

    config = _config(tmp_path)
    agent = build_agent(load_settings(config))
    try:
        with instance_lock(agent):
            result = runner.invoke(app, ["run", "--once", "--config", str(config)])
        assert result.exit_code == 3
        assert "already running" in result.output
    finally:
        agent.close()
    assert runner.invoke(app, ["run", "--once", "--config", str(config)]).exit_code == 0


def test_config_before_the_command_after_it_and_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three councils' configs, each with its own (missing) rules folder, tell them apart.
    configs = {}
    for name in ("before", "after", "env"):
        (tmp_path / name).mkdir()
        configs[name] = tmp_path / name / "config.toml"
        configs[name].write_text("[agent]\ncouncil = 'leicestershire'\nmailbox = 'a@b'\n")

    def checked(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 1
        [folder] = {name for name in configs if f"no folder {tmp_path / name}" in result.output}
        return folder

    monkeypatch.setenv("MAILAGENT_CONFIG", str(configs["env"]))
    assert checked("rules", "check") == "env"
    assert checked("--config", str(configs["before"]), "rules", "check") == "before"
    assert checked("--config", str(configs["before"]), "rules", "check",
                   "--config", str(configs["after"])) == "after"
    message = runner.invoke(app, ["rules", "check"]).output
    assert f"{configs['env']}: agent.rules_dir: there is no folder {tmp_path / 'env' / 'rules'}" \
        in message


def test_run_once_from_cron_is_silent_on_a_quiet_pass(tmp_path: Path) -> None:
    config = _config(tmp_path)
    command = [str(Path(sys.executable).with_name("mailagent")), "run", "--once",
               "--config", str(config)]

    def cron() -> tuple[str, str]:
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
        return done.stdout, done.stderr

    out, err = cron()  # a new database: the migration is said once, in one line
    assert out == ""
    assert [line.split(" ", 3)[-1] for line in err.splitlines()] == [
        "mailagent.store.db: database schema upgraded from nothing to " + err.split()[-1]
    ]
    assert cron() == ("", "")
    (tmp_path / "mailbox" / "new" / "hello.eml").write_bytes(
        b"From: someone@elsewhere.test\r\nTo: agent@example.test\r\nSubject: hi\r\n"
        b"Message-ID: <quiet@elsewhere.test>\r\n\r\nhello\r\n"
    )
    out, _ = cron()
    assert out.startswith("fetched 1, processed 0, quarantined 1")
