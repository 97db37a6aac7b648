"""Every email in tests/corpus gives exactly the `inspect` output beside it.

Each NAME.eml (or NAME.msg, an Outlook item) has NAME.expected.json. To accept new output
after a deliberate change, run with MAILAGENT_UPDATE_CORPUS=1 and read the diff of the
.expected.json files before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailagent.cli.main import app
from mailagent.mail.classify import KINDS
from mailagent.mail.inspection import inspect_bytes
from mailagent.policy.vocabulary import Vocabulary, load_vocabulary
from tests.support import write_config

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
# Emails, and Outlook items (.msg files) as people drop them into the mailbox.
EMAILS = sorted([*CORPUS.glob("*.eml"), *CORPUS.glob("*.msg")])
UPDATE = os.environ.get("MAILAGENT_UPDATE_CORPUS") == "1"


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary(ROOT / "rules")


def expected_path(eml: Path) -> Path:
    return eml.with_name(eml.stem + ".expected.json")


@pytest.mark.parametrize("eml", EMAILS, ids=[p.stem for p in EMAILS])
def test_inspect_output_is_as_expected(eml: Path, vocab: Vocabulary) -> None:
    result = inspect_bytes(eml.read_bytes(), vocab)
    json.dumps(result, ensure_ascii=False).encode("utf-8")  # serialisable, no lone surrogates
    if UPDATE:
        text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
        expected_path(eml).write_text(text, encoding="utf-8")
    expected = json.loads(expected_path(eml).read_text(encoding="utf-8"))
    assert result == expected


def test_every_email_has_an_expectation_and_every_expectation_an_email() -> None:
    emails = {p.stem for p in EMAILS}
    assert len(emails) == len(EMAILS)
    expectations = {p.name.removesuffix(".expected.json") for p in CORPUS.glob("*.expected.json")}
    assert emails == expectations
    assert len(emails) >= 30


def test_the_corpus_covers_every_kind(vocab: Vocabulary) -> None:
    kinds = {inspect_bytes(p.read_bytes(), vocab)["kind"] for p in EMAILS}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("eml", EMAILS, ids=[p.stem for p in EMAILS])
def test_mailagent_inspect_names_the_rule_that_decided(eml: Path, tmp_path: Path) -> None:
    """The command people run gives the same answer, naming the rule and its reason."""
    result = CliRunner().invoke(app, ["inspect", str(eml), "--config",
                                      str(write_config(tmp_path))])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    expected = json.loads(expected_path(eml).read_text(encoding="utf-8"))
    assert (shown["kind"], shown["rule"], shown["reason"]) == (
        expected["kind"], expected["rule"], expected["reason"])
    assert shown["rule"] and shown["reason"]


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("outlook-desktop-escalation", "عائشہ خان"),  # Urdu
        ("outlook-desktop-escalation", "Łukasz Wróblewski"),  # Polish
        ("outlook-desktop-reply", "عائشہ خان"),
        ("welsh-outlook-reply", "Mae'r cyswllt wedi ei drefnu"),  # Welsh
        ("base64-urdu-welsh-challenge", "Mae'r asesiad iechyd yn hwyr"),
        ("broken-unknown-charset", "ŵyr"),
        ("broken-latin1-labelled-utf8", "café visit is paid for: £50"),
        ("broken-8bit-headers", "café allowance of £20"),
    ],
)
def test_non_ascii_text_survives(name: str, needle: str, vocab: Vocabulary) -> None:
    result = inspect_bytes((CORPUS / f"{name}.eml").read_bytes(), vocab)
    assert needle in json.dumps(result, ensure_ascii=False)
