"""Config: the documented example loads; wrong or missing keys fail naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailagent.config import PROJECT_DIR, ConfigError, Secret, load_settings

EXAMPLE = PROJECT_DIR / "config.example.toml"


def test_example_config_loads_with_every_section() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.agent.council == "leicestershire"
    assert settings.source.kind == "maildir" and settings.transport.kind == "files"
    assert settings.resolve(settings.agent.rules_dir) == PROJECT_DIR / "rules"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[agent]\ncouncil = 'x'\n", "agent.mailbox: is required but missing"),
        ("[agent]\ncouncil='x'\nmailbox='a@b'\ncolour='red'\n", "agent.colour: is not a known key"),
        ("[agent]\ncouncil='x'\nmailbox='a@b'\n[source]\nkind='imap'\nhost='h'\n",
         "source.username: is required but missing"),
        ("[agent]\ncouncil='x'\nmailbox='a@b'\n[outbox]\nmax_attempts=0\n",
         "outbox.max_attempts: Input should be greater than or equal to 1"),
        ("[agent\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: file not found"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_come_from_environment_or_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MA_TEST_SECRET", "s3cret")
    assert Secret(env="MA_TEST_SECRET").reveal() == "s3cret"
    (tmp_path / "pw").write_text("from-file\n")
    assert Secret(file=tmp_path / "pw").reveal() == "from-file"
    monkeypatch.delenv("MA_TEST_SECRET")
    with pytest.raises(ConfigError, match="MA_TEST_SECRET is not set"):
        Secret(env="MA_TEST_SECRET").reveal()


def test_a_password_cannot_be_written_in_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[agent]\ncouncil='x'\nmailbox='a@b'\n[database]\npassword='pw'\n")
    with pytest.raises(ConfigError, match="database.password"):
        load_settings(path)
