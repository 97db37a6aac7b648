"""`mailagent init DIR`: a council's own copy of the config, rules and templates, private to
its owner, never written over by accident, and working from wherever it is run."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailagent import shipped
from mailagent.cli.main import app
from tests.support import PROJECT_DIR

runner = CliRunner()


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(folder: Path) -> set[tuple[str, int]]:
    return {("dir" if p.is_dir() else "file", stat.S_IMODE(p.stat().st_mode))
            for p in [folder, *folder.rglob("*")]}


def test_init_writes_a_private_copy_of_the_shipped_files(tmp_path: Path, loose_umask: None) -> None:
    council = tmp_path / "etc" / "mailagent"
    result = runner.invoke(app, ["init", str(council)])
    assert result.exit_code == 0, result.output
    assert _modes(council) == {("dir", 0o700), ("file", 0o600)}
    for name in ("rules", "templates"):
        shipped_files = {p.relative_to(PROJECT_DIR / name) for p in (PROJECT_DIR / name).rglob("*")
                         if p.is_file() and "__pycache__" not in p.parts}
        copied = {p.relative_to(council / name) for p in (council / name).rglob("*") if p.is_file()}
        assert copied == shipped_files
    ladder = Path("rules", "ladders", "leicestershire.toml")
    assert (council / ladder).read_bytes() == (PROJECT_DIR / ladder).read_bytes()
    config = (council / "config.toml").read_text()
    assert config.endswith(shipped.example_config().read_text())
    assert config.startswith("# Written by `mailagent init`")


def test_init_refuses_to_overwrite_and_force_does(tmp_path: Path, loose_umask: None) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    ladder = tmp_path / "rules" / "ladders" / "leicestershire.toml"
    ladder.write_text("# our own ladder\n")
    ladder.chmod(0o644)
    (tmp_path / "notes.txt").write_text("ours")

    refused = runner.invoke(app, ["init", str(tmp_path)])
    assert refused.exit_code == 2
    assert "nothing was written (--force overwrites them)" in refused.output
    assert str(tmp_path / "config.toml") in refused.output
    assert ladder.read_text() == "# our own ladder\n"

    assert runner.invoke(app, ["init", str(tmp_path), "--force"]).exit_code == 0
    assert ladder.read_bytes() == (shipped.rules_dir() / ladder.relative_to(tmp_path / "rules")
                                   ).read_bytes()
    assert stat.S_IMODE(ladder.stat().st_mode) == 0o600
    assert (tmp_path / "notes.txt").read_text() == "ours"  # not one of init's files: untouched


def test_init_never_writes_through_a_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text("not ours to change")
    (tmp_path / "council").mkdir()
    (tmp_path / "council" / "config.toml").symlink_to(elsewhere)
    result = runner.invoke(app, ["init", str(tmp_path / "council"), "--force"])
    assert result.exit_code == 2
    assert "cannot write into" in result.output
    assert elsewhere.read_text() == "not ours to change"


def test_the_starter_runs_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    council = tmp_path / "etc" / "mailagent"
    assert runner.invoke(app, ["init", str(council)]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    config = "etc/mailagent/config.toml"
    checked = runner.invoke(app, ["--config", config, "rules", "check"])
    assert checked.exit_code == 0, checked.output
    assert checked.output.strip() == f"{council / 'rules'}: all rules are valid"
    ran = runner.invoke(app, ["run", "--once", "--config", config])
    assert ran.exit_code == 0, ran.output
    assert (council / "var" / "mailbox").is_dir()
    assert (council / "var" / "mailagent.sqlite").exists()
    assert not (tmp_path / "var").exists()
