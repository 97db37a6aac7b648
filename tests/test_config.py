"""Config: the documented example loads; wrong or missing keys fail naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailagent.config import ConfigError, Secret, load_settings
from tests.support import PROJECT_DIR

EXAMPLE = PROJECT_DIR / "config.example.toml"


def test_example_config_loads_with_every_section() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.agent.council == "leicestershire"
    assert settings.source.kind == "maildir" and settings.transport.kind == "files"
    assert settings.agent.rules_dir == PROJECT_DIR / "rules"


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
        ("[agent]\ncouncil='x'\nmailbox='a@b'\n[outbox]\ngive_up_after_days=0\n",
         "outbox.give_up_after_days: Input should be greater than 0"),
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


def test_relative_paths_are_taken_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc" / "mailagent"
    etc.mkdir(parents=True)
    (etc / "imap-password").write_text("pw\n")
    path = etc / "config.toml"
    path.write_text(
        "[agent]\ncouncil='x'\nmailbox='a@b'\nrules_dir='rules'\n"
        "[database]\nurl='sqlite:///state/db.sqlite'\n"
        "[source]\nkind='imap'\nhost='h'\nusername='u'\npassword={ file = 'imap-password' }\n"
        "[oauth]\ntenant_id='t'\nclient_id='c'\ncertificate_file='app.pem'\n"
    )
    monkeypatch.chdir(tmp_path)  # anywhere but the config's folder
    settings = load_settings(Path("etc/mailagent/config.toml"))
    assert settings.agent.rules_dir == etc / "rules"
    assert settings.agent.templates_dir == etc / "templates"  # a default, from there too
    assert settings.directory.path == etc / "rules" / "directory.example.toml"
    assert settings.database.url == f"sqlite:///{etc / 'state' / 'db.sqlite'}"
    assert settings.source.password is not None and settings.source.password.reveal() == "pw"
    assert settings.oauth is not None and settings.oauth.certificate_file == etc / "app.pem"
    assert load_settings(EXAMPLE).transport.path == PROJECT_DIR / "var" / "sent"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("[source]\nkind='graph'\nhost='imap.example'\n",
         'source.host: is not a key for kind = "graph" (it is for kind = "imap")'),
        ("[source]\nkind='imap'\nhost='h'\nusername='u'\npath='var/mailbox'\n",
         'source.path: is not a key for kind = "imap" (it is for kind = "maildir")'),
        ("[source]\nkind='maildir'\nfolder='INBOX'\n",
         'source.folder: is not a key for kind = "maildir" (it is for kind = "imap" or "graph")'),
        ("[transport]\nkind='smtp'\nhost='h'\nsave_to_sent_items=true\n",
         'transport.save_to_sent_items: is not a key for kind = "smtp" '
         '(it is for kind = "ews")'),
        ("[transport]\nkind='graph'\nsave_to_sent_items=false\n",
         'transport.save_to_sent_items: is not a key for kind = "graph" '
         '(it is for kind = "ews")'),
        ("[transport]\nkind='smtp'\nhost='h'\ncolour='red'\n",
         'transport.colour: is not a key for kind = "smtp"\n'),
        ("[source]\nhost='h'\n", "source: kind is required: one of maildir, imap, graph, ews"),
        ("[source]\nkind='imap'\nhost='h'\nusername='u'\nport=143\n",
         "source: port 143 has no implicit TLS: set ssl = false and starttls = true"),
        ("[source]\nkind='imap'\nhost='h'\nusername='u'\nstarttls=true\n",
         "source: choose ssl = true (implicit TLS, port 993) or starttls = true"),
        ("[source]\nkind='pop3'\n", "source: kind must be one of maildir, imap, graph, ews"),
    ],
)
def test_a_key_of_another_kind_names_the_kinds_that_take_it(
    tmp_path: Path, section: str, expected: str
) -> None:
    path = _write(tmp_path, "[agent]\ncouncil='x'\nmailbox='a@b'\n[oauth]\ntenant_id='t'\n"
                  "client_id='c'\nclient_secret={ env = 'S' }\n" + section)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert f"{path}: {expected}" in str(caught.value) + "\n"
