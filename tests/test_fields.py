"""Fields and commands in what a person wrote, read leniently and reported honestly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mailagent.mail.fields import (
    Command,
    RespondBy,
    example_fields,
    find_child_ref,
    missing_or_wrong,
    parse_commands,
    parse_fields,
)
from mailagent.policy.vocabulary import Vocabulary, load_vocabulary

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return load_vocabulary(RULES)


FULL = """Hello,

Child: 580913
plan: LAC
TEAM: North Children in Care
Social worker: Łukasz Wróblewski
Team manager: عائشہ خان
Category: Placement
Stage: Head of Service
Issue: The placement plan has not been started.
No referral has gone to panel.

It is now six weeks.
Impact on child: He travels two hours a day.
Resolution sought: A referral this week.
Respond by: 5 working days

Kind regards,
Siân Llŷr
"""


def test_every_field_is_read(vocab: Vocabulary) -> None:
    result = parse_fields(FULL, vocab)
    assert result.values == {
        "child": "580913",
        "plan": "LAC",
        "team": "North Children in Care",
        "social_worker": "Łukasz Wróblewski",
        "team_manager": "عائشہ خان",
        "category": "placement",
        "stage": "Head of Service",
        "issue": "The placement plan has not been started.\nNo referral has gone to panel."
        "\n\nIt is now six weeks.",
        "impact": "He travels two hours a day.",
        "resolution_sought": "A referral this week.",
        "respond_by": RespondBy(working_days=5),
    }
    assert result.errors == () and result.corrections == ()
    assert result.other_text == "Hello,\n\nKind regards,\nSiân Llŷr"


@pytest.mark.parametrize(
    "line",
    [
        "Child: 580913",
        "child:580913",
        "**Child:** 580913",
        "Child ID: 580913",
        "Child's record number: 580913",
        "MOSAIC ID: 580913",
        "Child\t580913",  # a two-column table turned into text
        "- Child: 580913",
        "Child： 580913",  # a full-width colon from an IME
        "Child: 580 913",
    ],
)
def test_field_names_are_matched_leniently(line: str, vocab: Vocabulary) -> None:
    assert parse_fields(line, vocab).values == {"child": "580913"}


def test_an_unknown_name_inside_a_multiline_value_continues_it(vocab: Vocabulary) -> None:
    text = "Issue: The review was cancelled.\nDate of review: 3 November\nPlan: CP"
    values = parse_fields(text, vocab).values
    assert values["issue"] == "The review was cancelled.\nDate of review: 3 November"
    assert values["plan"] == "CP"


def test_a_trailing_name_is_not_part_of_the_last_value(vocab: Vocabulary) -> None:
    text = "Issue: Late health assessments.\n\nThree were very late.\n\nMałgorzata Nowak\nIRO"
    result = parse_fields(text, vocab)
    assert result.values["issue"] == "Late health assessments.\n\nThree were very late."
    assert result.other_text == "Małgorzata Nowak\nIRO"


def test_a_field_given_twice_with_different_values_is_wrong(vocab: Vocabulary) -> None:
    result = parse_fields("Child: 580913\nChild: 580914", vocab)
    assert result.values == {"child": "580913"}
    assert result.errors == (
        "Child: is given more than once with different values. Write the child's record "
        "number, e.g. Child: 123456",
    )


def test_a_child_number_is_picked_out_without_repeating_the_rest(vocab: Vocabulary) -> None:
    result = parse_fields("Child: 580913 (Amir, aged 9)", vocab)
    assert result.values == {"child": "580913"}
    assert result.corrections == ("Child: used the record number 580913",)
    assert "Amir" not in " ".join(result.corrections + result.errors)


@pytest.mark.parametrize(
    ("written", "plan"),
    [
        ("LAC", "LAC"), ("lac", "LAC"), ("CLA", "LAC"), ("Child in care", "LAC"),
        ("looked-after child", "LAC"), ("CP", "CP"), ("Child protection", "CP"),
        ("child protection plan", "CP"), ("CP (neglect)", "CP"),
    ],
)
def test_plan_types_are_normalised(written: str, plan: str, vocab: Vocabulary) -> None:
    assert parse_fields(f"Plan: {written}", vocab).values == {"plan": plan}


@pytest.mark.parametrize(
    ("written", "category", "corrected"),
    [
        ("Placement", "placement", False),
        ("PEP", "education", False),
        ("drift and delay", "drift", False),
        ("Placment", "placement", True),
        ("sibling contcat", "contact", True),
        ("educaton", "education", True),
    ],
)
def test_categories_are_matched_and_misspellings_said(
    written: str, category: str, corrected: bool, vocab: Vocabulary
) -> None:
    result = parse_fields(f"Category: {written}", vocab)
    assert result.values == {"category": category}
    assert bool(result.corrections) is corrected


def test_an_unknown_category_lists_the_known_ones(vocab: Vocabulary) -> None:
    (error,) = parse_fields("Category: housing", vocab).errors
    assert error.startswith("Category: 'housing' is not a category (use one of: Care plan,")
    assert error.endswith("e.g. Category: Placement")


@pytest.mark.parametrize(
    ("written", "respond_by", "corrected"),
    [
        ("5", RespondBy(working_days=5), True),
        ("5 working days", RespondBy(working_days=5), False),
        ("within 3 working days", RespondBy(working_days=3), False),
        ("10 days", RespondBy(working_days=10), True),
        ("11/12/2026", RespondBy(on=date(2026, 12, 11)), False),
        ("11/12/26", RespondBy(on=date(2026, 12, 11)), False),
        ("2026-12-11", RespondBy(on=date(2026, 12, 11)), False),
        ("11 Dec 2026", RespondBy(on=date(2026, 12, 11)), False),
        ("Friday 11th December 2026", RespondBy(on=date(2026, 12, 11)), False),
        ("Friday, 11 December, 2026.", RespondBy(on=date(2026, 12, 11)), False),
    ],
)
def test_respond_by_is_a_date_or_working_days(
    written: str, respond_by: RespondBy, corrected: bool, vocab: Vocabulary
) -> None:
    result = parse_fields(f"Respond by: {written}", vocab)
    assert result.values == {"respond_by": respond_by}
    assert bool(result.corrections) is corrected


@pytest.mark.parametrize("written", ["next week", "0", "500 days", "11 December", "31/02/2026"])
def test_respond_by_that_cannot_be_read_is_an_error(written: str, vocab: Vocabulary) -> None:
    result = parse_fields(f"Respond by: {written}", vocab)
    assert result.values == {}
    assert len(result.errors) == 1 and result.errors[0].startswith("Respond by: ")


def test_missing_or_wrong_says_what_to_write(vocab: Vocabulary) -> None:
    result = parse_fields("Plan: fostering\nChild:", vocab)
    assert missing_or_wrong(result, vocab, "escalation") == [
        "Issue: is missing. Write what is wrong, e.g. Issue: The care plan agreed at the "
        "review on 3 November has not been started.",
        "Plan: 'fostering' is not a plan type. Write LAC for a child in care, or CP for a "
        "child protection plan, e.g. Plan: LAC",
        "Child: is empty. Write the child's record number, e.g. Child: 123456",
    ]


def test_each_kind_requires_its_own_fields(vocab: Vocabulary) -> None:
    issue_only = parse_fields("Issue: late health assessments", vocab)
    assert missing_or_wrong(issue_only, vocab, "collective_alert") == []
    assert missing_or_wrong(issue_only, vocab, "commendation") == []
    assert [p.split(":")[0] for p in missing_or_wrong(issue_only, vocab, "challenge")] == [
        "Child"
    ]


@pytest.mark.parametrize("kind", ["escalation", "challenge", "commendation", "collective_alert"])
def test_the_example_shown_to_the_iro_is_itself_correct(kind: str, vocab: Vocabulary) -> None:
    example = example_fields(vocab, kind)
    result = parse_fields(example, vocab)
    assert missing_or_wrong(result, vocab, kind) == []
    assert set(result.values) == set(vocab.tag_fields)
    required = [vocab.tag_fields[f].label for f in vocab.tags[kind].required]
    assert [line.split(":")[0] for line in example.splitlines()][: len(required)] == required


# Commands ---------------------------------------------------------------------------


def test_commands_on_their_own_lines(vocab: Vocabulary) -> None:
    text = """Thanks all.
#Resolved
Outcome: Contact took place on 12 December.
It is now fortnightly.
Learning: Name a person in the contact centre.

#extend 5 working days
#escalate to Head of Service
#note
The panel meets on Friday.

Siân
#pause awaiting the court hearing
#resume
"""
    result = parse_commands(text, "", vocab)
    assert result.problems == ()
    assert result.commands == (
        Command("resolved", None, {
            "outcome": "Contact took place on 12 December.\nIt is now fortnightly.",
            "learning": "Name a person in the contact centre.",
        }),
        Command("extend", "5"),
        Command("escalate", "Head of Service"),
        Command("note", "The panel meets on Friday."),
        Command("pause", "awaiting the court hearing"),
        Command("resume"),
    )


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("#resolve", Command("resolved")),
        ("#escalate", Command("escalate")),
        ("#ESCALATE TO stage 3", Command("escalate", "stage 3")),
        ("#withdraw raised in error.", Command("withdraw", "raised in error")),
        ("#cafcass", Command("cafcass")),
        ("#agree", Command("agree")),
        ("#return please add the impact", Command("return", "please add the impact")),
    ],
)
def test_command_words_and_aliases(line: str, command: Command, vocab: Vocabulary) -> None:
    assert parse_commands(line, "", vocab).commands == (command,)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("#extend", "#extend needs a number of working days, e.g. #extend 5"),
        ("#extend soon", "#extend needs a number of working days, e.g. #extend 5"),
        ("#note", "#note needs some words after it, e.g. #note Spoke to the team manager; "
                  "a plan is promised by Friday."),
        ("#pause", "#pause needs some words after it, e.g. #pause awaiting the court hearing "
                   "on 12 January"),
    ],
)
def test_commands_missing_their_argument_are_reported(
    text: str, problem: str, vocab: Vocabulary
) -> None:
    assert parse_commands(text, "", vocab).problems == (problem,)


def test_an_unknown_command_is_reported_with_the_known_ones(vocab: Vocabulary) -> None:
    (problem,) = parse_commands("#chase", "", vocab).problems
    assert problem.startswith("#chase is not a command. The commands are: #resolved, #escalate")


def test_hashes_inside_sentences_are_not_commands(vocab: Vocabulary) -> None:
    assert parse_commands("We are #1 in the league and use C# here.", "", vocab).commands == ()


def test_commands_in_the_subject(vocab: Vocabulary) -> None:
    subject = "RE: [ESC-2026-0042] Placement drift #extend 3 #pause court hearing"
    assert parse_commands("", subject, vocab).commands == (
        Command("extend", "3"),
        Command("pause", "court hearing"),
    )


def test_a_subject_tag_is_not_a_subject_command(vocab: Vocabulary) -> None:
    assert parse_commands("", "Placement drift #escalate", vocab).commands == ()


def test_a_command_in_both_body_and_subject_counts_once(vocab: Vocabulary) -> None:
    result = parse_commands("#extend 5", "RE: x #extend 3", vocab)
    assert result.commands == (Command("extend", "5"),)


# The child's record number for matching --------------------------------------------


def test_child_ref_comes_from_a_field_then_the_subject_then_a_mention(vocab: Vocabulary) -> None:
    assert find_child_ref(vocab, "child 222222", "Child: 111111") == "111111"
    assert find_child_ref(vocab, "Escalation for child 222222", "no number") == "222222"
    assert find_child_ref(vocab, "Re: panel", "about child no. 333333 today") == "333333"
    assert find_child_ref(vocab, "Re: panel", "new text", "> Child record number: 444444") == (
        "444444"
    )
    assert find_child_ref(vocab, "Re: 12 children", "see page 123456") is None
