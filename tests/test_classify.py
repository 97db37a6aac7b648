"""The kind decision rules, and the vocabulary files they read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailagent.mail.classify import RULES, classify
from mailagent.mail.parse import parse_message
from mailagent.policy.schema import Problem, RulesError
from mailagent.policy.vocabulary import Vocabulary, check_vocabulary, load_vocabulary

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
FIELDS = "Child: 580913\nPlan: LAC\nIssue: The plan has drifted.\n"


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary(RULES_DIR)


def email(subject: str, body: str = FIELDS, **headers: str) -> bytes:
    head = {"From": "=?utf-8?q?Si=C3=A2n_Ll=C5=B7r?= <sian.llyr@northshire.example.test>",
            "Date": "Tue, 1 Dec 2026 09:14:21 +0000",
            "To": "iro-escalations@northshire.example.test",
            "Message-ID": "<new@northshire.example.test>", "Subject": subject}
    head.update({k.replace("_", "-"): v for k, v in headers.items()})
    lines = "".join(f"{k}: {v}\n" for k, v in head.items())
    return (lines + "Content-Type: text/plain; charset=utf-8\n\n" + body).encode("utf-8")


def test_the_rules_are_tried_in_a_fixed_order() -> None:
    assert [rule.name for rule in RULES] == [
        "automated", "tagged", "command", "reply", "unrecognised",
    ]


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("[ESCALATE] Placement drift", "escalation"),
        ("Placement drift [escalate]", "escalation"),
        ("Placement drift #Escalate", "escalation"),
        ("[Challenge] visits", "challenge"),
        ("[COMMEND] life-story work", "commendation"),
        ("[COLLECTIVE] late health assessments", "collective_alert"),
        ("[EXTERNAL] [ESCALATE] from a partner", "escalation"),
        ("FW: [ESCALATE] RE: Sibling contact", "escalation"),  # forwarding the thread
    ],
)
def test_a_tag_on_a_new_email_opens_work(subject: str, kind: str, vocab: Vocabulary) -> None:
    result = classify(parse_message(email(subject)), vocab)
    assert result.kind == kind
    assert result.tag == kind
    assert result.reasons[0].startswith("tagged: subject tag on ")
    assert result.commands == ()


def test_a_tagged_answer_without_a_case_is_a_reply_that_keeps_tag_and_fields(
    vocab: Vocabulary,
) -> None:
    # a manager's Reply All to the IRO's tagged email must not open a second case
    raw = email("RE: [ESCALATE] Placement drift", "Looking into it.\n",
                In_Reply_To="<iro-original@northshire.example.test>")
    result = classify(parse_message(raw), vocab)
    assert (result.kind, result.tag, result.answering) == ("reply", "escalation", True)
    assert result.problems == ()  # field problems are for emails that open work


def test_a_tag_on_an_email_about_a_case_is_its_command(vocab: Vocabulary) -> None:
    result = classify(parse_message(email("RE: [PC-2026-0007] visits [ESCALATE]", "Now.\n")),
                      vocab)
    assert result.kind == "command"
    assert [c.name for c in result.commands] == ["escalate"]


def test_a_tag_without_a_command_on_a_case_is_explained(vocab: Vocabulary) -> None:
    result = classify(parse_message(email("RE: [ESC-2026-0042] x [COMMEND]", "Great work.\n")),
                      vocab)
    assert result.kind == "reply"
    assert result.problems == (
        "the Good practice tag was not used because this email is about ESC-2026-0042: "
        "to raise something new, send a new email rather than a reply",
    )


def test_a_marker_wins_over_a_different_subject_reference(vocab: Vocabulary) -> None:
    body = "Fine.\n\n> Sent by the mailbox.\n> [ma:ESC-2026-0042]\n"
    result = classify(parse_message(email("RE: [ESC-2026-0041] x", body)), vocab)
    assert (result.case_ref, result.marker_ref, result.subject_ref) == (
        "ESC-2026-0042", "ESC-2026-0042", "ESC-2026-0041",
    )
    assert "the subject names ESC-2026-0041 but the quoted email is about ESC-2026-0042" in (
        result.problems[0]
    )


@pytest.mark.parametrize(
    ("subject", "body", "headers"),
    [
        ("Placement", "ok", {"In_Reply_To": "<ours@northshire.example.test>"}),
        ("Placement", "ok", {"References": "<ours@northshire.example.test>"}),
        ("Re: Placement", "ok", {}),
        ("Placement", "ok\n\nOn Tue, 1 Dec 2026, IRO wrote:\n> old\n", {}),
        ("Update on ESC-2026-0042", "ok", {}),
    ],
)
def test_each_reply_signal_alone_makes_a_reply(
    subject: str, body: str, headers: dict[str, str], vocab: Vocabulary
) -> None:
    assert classify(parse_message(email(subject, body, **headers)), vocab).kind == "reply"


def test_an_email_with_nothing_to_go_on_is_unrecognised(vocab: Vocabulary) -> None:
    result = classify(parse_message(email("Placement drift")), vocab)
    assert result.kind == "unrecognised"
    assert result.problems[-1].endswith(
        "put a tag such as [ESCALATE], [CHALLENGE], [COMMEND], [COLLECTIVE] in the subject"
    )


def test_machine_mail_has_no_text_commands_or_child(vocab: Vocabulary) -> None:
    raw = email("Automatic reply: RE: [ESC-2026-0042] x", "#resolved\nChild: 580913\n",
                Auto_Submitted="auto-replied")
    result = classify(parse_message(raw), vocab)
    assert (result.kind, result.automated, result.reply_text) == ("autoreply", True, None)
    assert (result.commands, result.child_ref, result.tag) == ((), None, None)
    assert result.automated_reason == "Auto-Submitted: auto-replied"
    assert (result.rule, result.reason) == ("auto_replied", "Auto-Submitted: auto-replied")


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Precedence": "list"}, "bulk"),
        ({"List_Id": "<team.northshire.example.test>"}, "bulk"),
        ({"Auto_Submitted": "auto-generated"}, "bulk"),
        ({"Subject": "Read: [ESC-2026-0042] x"}, "read_receipt"),
        ({"Subject": "Please confirm your message verify#a1b2c3"}, "confirmation_request"),
    ],
)
def test_each_kind_of_machine_mail_is_its_own_kind(
    headers: dict[str, str], kind: str, vocab: Vocabulary
) -> None:
    """Bulk and list mail is never an "autoreply", which brings in a stage's deputy."""
    subject = headers.pop("Subject", "RE: [ESC-2026-0042] Stage 1")
    result = classify(parse_message(email(subject, "Thank you.\n", **headers)), vocab)
    assert (result.kind, result.automated, result.reply_text) == (kind, True, None)


def test_a_person_s_kind_names_the_classify_rule(vocab: Vocabulary) -> None:
    result = classify(parse_message(email("RE: [ESC-2026-0042] x", "Agreed.\n",
                                          In_Reply_To="<ours@example.test>")), vocab)
    assert (result.kind, result.rule) == ("reply", "reply")
    assert result.reason == "In-Reply-To/References, reply prefix, case reference"


# Vocabulary ---------------------------------------------------------------------------


def test_the_shipped_vocabulary_is_clean() -> None:
    assert check_vocabulary(RULES_DIR) == []


def test_tag_prefixes_are_the_reference_prefixes() -> None:
    vocab = load_vocabulary(RULES_DIR)
    assert vocab.ref_prefixes == ("ESC", "PC", "GP", "CA")


@pytest.mark.parametrize("prefix", ["E-SC", "esc", "E", "TOOLONGPREFIX"])
def test_rules_check_refuses_a_prefix_the_matcher_could_not_read(
    tmp_path: Path, prefix: str
) -> None:
    rules = copy_rules(tmp_path)
    tags = rules / "tags.toml"
    tags.write_text(tags.read_text().replace('ref_prefix = "ESC"', f'ref_prefix = "{prefix}"'))
    (problem,) = check_vocabulary(rules)
    assert problem.key == "escalation.ref_prefix" and "not a reference prefix" in problem.message


def copy_rules(tmp_path: Path) -> Path:
    for name in ("tags.toml", "fields.toml", "categories.toml", "commands.toml"):
        shutil.copy(RULES_DIR / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        ("tags.toml", '"challenge", "alert"', '"challenge", "escalate"',
         Problem("tags.toml", "challenge.words", "'escalate' is also used by 'escalation'")),
        ("tags.toml", 'required = ["issue"]', 'required = ["isue"]',
         Problem("tags.toml", "collective_alert.required", "'isue' is not in tag_fields")),
        ("tags.toml", 'ref_prefix = "GP"', 'ref_prefix = "PC"',
         Problem("tags.toml", "commendation.ref_prefix", "also used by challenge")),
        ("tags.toml", 'command = "escalate"', 'command = "escalat"',
         Problem("tags.toml", "escalation.command", "'escalat' is not a command")),
        ("commands.toml", 'fields = ["outcome", "learning"]', 'fields = ["outcome", "lesson"]',
         Problem("commands.toml", "resolved.fields", "'lesson' is not in command_fields")),
        ("commands.toml", "[raise]", "[raise-now-please]",
         Problem("commands.toml", "raise", "missing: mailagent carries out this command, so "
                 "it needs its table")),
        ("commands.toml", "[done]", "[finished]",
         Problem("commands.toml", "finished", "not a command mailagent carries out (they are: "
                 "resolved, escalate, extend, withdraw, cafcass, note, pause, resume, revised, "
                 "agree, return, raise, action, done, challenge-meeting, legal-advice, "
                 "cafcass-meeting, cafcass-referred); to give a command another word, use its "
                 "aliases")),
        ("categories.toml", 'id = "drift"', 'id = "placement"',
         Problem("categories.toml", "categories[6].id", "'placement' is used twice")),
    ],
)
def test_vocabulary_mistakes_are_found(
    tmp_path: Path, file: str, old: str, new: str, problem: Problem
) -> None:
    rules = copy_rules(tmp_path)
    text = (rules / file).read_text("utf-8")
    assert old in text
    (rules / file).write_text(text.replace(old, new, 1), "utf-8")
    found = check_vocabulary(rules)
    expected = Problem(str(rules / problem.file), problem.key, problem.message)
    assert expected in found
    with pytest.raises(RulesError):
        load_vocabulary(rules)


def test_broken_and_missing_files_are_problems(tmp_path: Path) -> None:
    rules = copy_rules(tmp_path)
    (rules / "commands.toml").unlink()
    (rules / "fields.toml").write_text('child_ref_pattern = "[unclosed"\n', "utf-8")
    found = [str(p) for p in check_vocabulary(rules)]
    assert f"{rules / 'commands.toml'}: file is missing" in found
    assert any(p.startswith(f"{rules / 'fields.toml'}: child_ref_pattern: ") for p in found)
