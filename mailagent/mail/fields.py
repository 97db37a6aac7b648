"""What the person wrote, as data: "Name: value" fields and "#command" lines.

Field names and command words come from the vocabulary (rules/fields.toml and
rules/commands.toml). Values are read leniently and every liberty taken is reported:
a misspelt category is matched with rapidfuzz and the IRO is told how it was read; a value
that cannot be read becomes a sentence for the IRO that says what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from rapidfuzz import fuzz, process

from mailagent.policy.vocabulary import FieldRule, FieldScope, Vocabulary, name_key

CATEGORY_CUTOFF = 85  # rapidfuzz WRatio: "plcement" scores 94, "housing" ~62 against any
MAX_WORKING_DAYS = 100

_FIELD_LINE = re.compile(
    # possessive quantifiers (*+): spaces belong to one part only, or a long run of them
    # makes the match try every way of sharing them out
    r"^[ \t>]*+(?:[-•]\s++)?[*_]*+(?P<name>[^:：\t]{1,60}?)[*_ ]*+(?:[:：]|\t)"
    r"[ \t*_]*+(?P<value>.*)$"
)
_COMMAND_LINE = re.compile(r"^[ \t]*#(?P<word>[A-Za-z][\w-]*)(?P<rest>.*)$")
_SUBJECT_COMMAND = re.compile(r"(?<![\w#&])#(?P<word>[A-Za-z][\w-]*)(?P<rest>[^#\[\]]*)")
# A sign-off ends a multi-line value, so "Kind regards, Siân" is not part of the issue.
_SIGN_OFF = re.compile(
    r"^\s*+(?:(?:kind|best|warm|many)\s+(?:regards|wishes|thanks)|regards|"
    r"(?:thanks|thank you)(?:\s+(?:all|everyone|both|again|very much|so much))?|cheers|"
    r"yours sincerely|yours faithfully|diolch(?: yn fawr)?|cofion(?: cynnes| gorau)?|--)"
    r"\s*+[,.!]?\s*+$",
    re.IGNORECASE,
)
_WORKING_DAYS = re.compile(
    r"^\s*+(?:within\s++)?(?P<n>\d{1,3})\s*+(?P<unit>working\s*days?|work\s*days?|wd|days?)?"
    r"\s*+\.?$",
    re.IGNORECASE,
)
_DATE_FORMATS = (
    "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d",
    "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y",
)
_CHILD_MENTION = re.compile(
    r"\bchild\b[\s:#-]*+(?:(?:id|ref|no|number|record)\.?[\s:#-]*+)?"
    r"(?P<ref>[A-Za-z]{0,4}\d{4,10})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RespondBy:
    """The IRO's own timescale: a date, or a number of working days from receipt."""

    on: date | None = None
    working_days: int | None = None

    def as_json(self) -> dict[str, object]:
        if self.on is not None:
            return {"date": self.on.isoformat()}
        return {"working_days": self.working_days}


FieldValue = str | RespondBy


@dataclass(frozen=True)
class FieldsResult:
    values: Mapping[str, FieldValue] = field(default_factory=dict)  # field id -> value read
    written: Mapping[str, str] = field(default_factory=dict)  # field id -> as written
    corrections: tuple[str, ...] = ()  # values read differently from how they were written
    errors: tuple[str, ...] = ()  # values that could not be read, in words for the IRO
    other_text: str = ""  # lines outside any field


@dataclass(frozen=True)
class Command:
    name: str
    arg: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "arg": self.arg, "fields": dict(self.fields)}


@dataclass(frozen=True)
class CommandsResult:
    commands: tuple[Command, ...] = ()
    problems: tuple[str, ...] = ()


# Fields ------------------------------------------------------------------------------


def parse_fields(text: str, vocab: Vocabulary, scope: FieldScope = "tag") -> FieldsResult:
    """Read "Name: value" lines; multi-line values run until the next field or a sign-off."""
    corrections: list[str] = []
    errors: list[str] = []
    written, other = _collect(text or "", vocab, scope, errors)
    values: dict[str, FieldValue] = {}
    for fid, value in written.items():
        rule = vocab.field(fid)
        if not value:
            errors.append(_tell(rule, "is empty"))
            continue
        read = _read_value(rule, value, vocab, corrections, errors)
        if read is not None:
            values[fid] = read
    return FieldsResult(values, written, tuple(corrections), tuple(errors), other)


def _collect(
    text: str, vocab: Vocabulary, scope: FieldScope, errors: list[str]
) -> tuple[dict[str, str], str]:
    lines: dict[str, list[str]] = {}
    other: list[str] = []
    current: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _FIELD_LINE.match(line)
        fid = vocab.field_id(match["name"], scope) if match else None
        if match is not None and fid is not None:
            current = _start_field(fid, match["value"].strip(), lines, vocab, errors)
        elif current is not None and not _SIGN_OFF.match(line):
            lines[current].append(line.rstrip())
        else:
            current = None
            other.append(line)
    if current is not None:  # the text ended inside a multi-line value: a signature?
        other += _split_signature(lines[current])
    written = {fid: "\n".join(parts).strip() for fid, parts in lines.items()}
    return written, re.sub(r"\n{3,}", "\n\n", "\n".join(other)).strip()


def _split_signature(value_lines: list[str]) -> list[str]:
    """Move a trailing name-and-title paragraph out of `value_lines`; return it.

    An IRO who signs off with just a name ("Siân", "Jo Bloggs / IRO Group Manager") leaves
    it below the last field. It looks like 1-4 short lines with no sentence punctuation,
    after a blank line; a paragraph of the value itself nearly always ends in a full stop.
    """
    while value_lines and not value_lines[-1].strip():
        value_lines.pop()
    if "" not in [line.strip() for line in value_lines]:
        return []
    start = len(value_lines) - [line.strip() for line in value_lines][::-1].index("")
    tail = value_lines[start:]
    looks_like_name = all(
        len(line.strip()) <= 40 and not line.rstrip().endswith((".", "!", "?", ":", ";"))
        for line in tail
    )
    if not 1 <= len(tail) <= 4 or not looks_like_name:
        return []
    del value_lines[start:]
    return tail


def _start_field(
    fid: str, value: str, lines: dict[str, list[str]], vocab: Vocabulary, errors: list[str]
) -> str | None:
    """Begin a field's value; returns the field that following lines continue, if any."""
    rule = vocab.field(fid)
    if fid in lines:  # given again: the first counts, and a different value is a mistake
        if lines[fid][0] != value:
            errors.append(_tell(rule, "is given more than once with different values"))
        return None
    lines[fid] = [value]
    return fid if rule.multiline else None


def _read_value(
    rule: FieldRule, value: str, vocab: Vocabulary, corrections: list[str], errors: list[str]
) -> FieldValue | None:
    if rule.value == "child_ref":
        return _read_child(rule, value, vocab, corrections, errors)
    if rule.value == "plan":
        plan = vocab.plan_type(value) or vocab.plan_type(value.split()[0])
        if plan is None:
            errors.append(_tell(rule, f"{value!r} is not a plan type"))
        return plan
    if rule.value == "category":
        return _read_category(rule, value, vocab, corrections, errors)
    if rule.value == "respond_by":
        return _read_respond_by(rule, value, corrections, errors)
    return value


def _read_child(
    rule: FieldRule, value: str, vocab: Vocabulary, corrections: list[str], errors: list[str]
) -> str | None:
    compact = re.sub(r"[\s-]", "", value).upper()
    if vocab.child_ref_pattern.fullmatch(compact):
        return compact
    for token in re.split(r"[^\w]+", value.upper()):
        if vocab.child_ref_pattern.fullmatch(token):
            # say which number was taken, never the rest of the line: it may hold a name
            corrections.append(f"{rule.label}: used the record number {token}")
            return token
    errors.append(_tell(rule, "is not a record number"))
    return None


def _read_category(
    rule: FieldRule, value: str, vocab: Vocabulary, corrections: list[str], errors: list[str]
) -> str | None:
    exact = vocab.category_id(value)
    if exact is not None:
        return exact
    names = vocab.category_names()
    best = process.extractOne(
        name_key(value), list(names), scorer=fuzz.WRatio, score_cutoff=CATEGORY_CUTOFF
    )
    if best is None:
        labels = ", ".join(c.label for c in vocab.categories)
        errors.append(_tell(rule, f"{value!r} is not a category (use one of: {labels})"))
        return None
    category = vocab.category(names[best[0]])
    corrections.append(f"{rule.label}: {value!r} was read as {category.label!r}")
    return category.id


def _read_respond_by(
    rule: FieldRule, value: str, corrections: list[str], errors: list[str]
) -> RespondBy | None:
    days = _WORKING_DAYS.match(value)
    if days:
        n = int(days["n"])
        if not 1 <= n <= MAX_WORKING_DAYS:
            errors.append(_tell(rule, f"{n} is not a number of working days we can use"))
            return None
        if not days["unit"] or not days["unit"].lower().startswith(("working", "work", "wd")):
            corrections.append(f"{rule.label}: {value!r} was read as {n} working days")
        return RespondBy(working_days=n)
    on = parse_date(value)
    if on is None:
        errors.append(_tell(rule, f"{value!r} is not a date or a number of working days"))
    return RespondBy(on=on) if on else None


def parse_date(value: str) -> date | None:
    """A date as people write it in England and Wales (day first), or None."""
    cleaned = re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", value.strip().rstrip("."))
    cleaned = re.sub(r"^[A-Za-z]+day\b,?\s*", "", cleaned, flags=re.IGNORECASE)
    cleaned = " ".join(cleaned.replace(",", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


def _tell(rule: FieldRule, problem: str) -> str:
    return f"{rule.label}: {problem}. Write {rule.help}, e.g. {rule.label}: {rule.example}"


def missing_or_wrong(result: FieldsResult, vocab: Vocabulary, kind: str) -> list[str]:
    """Everything the IRO must fix before a `kind` email can be opened, in plain English."""
    missing = [
        _tell(vocab.field(fid), "is missing")
        for fid in vocab.tags[kind].required
        if fid not in result.written
    ]
    return missing + list(result.errors)


def example_fields(vocab: Vocabulary, kind: str) -> str:
    """A correct body for a `kind` email, to show an IRO who got it wrong."""
    required = vocab.tags[kind].required
    ordered = [*required, *(fid for fid in vocab.tag_fields if fid not in required)]
    return "\n".join(f"{vocab.field(f).label}: {vocab.field(f).example}" for f in ordered)


def find_child_ref(vocab: Vocabulary, subject: str, *texts: str) -> str | None:
    """The child's record number: a Child: line in the texts, else "child 123456" in the
    subject, else in the texts (in that order: the texts go from newest to oldest)."""
    for text in texts:
        child = parse_fields(text, vocab).values.get("child")
        if isinstance(child, str):
            return child
    for text in (subject, *texts):
        for match in _CHILD_MENTION.finditer(text or ""):
            ref = match["ref"].upper()
            if vocab.child_ref_pattern.fullmatch(ref):
                return ref
    return None


# Commands ----------------------------------------------------------------------------


def parse_commands(text: str, subject: str, vocab: Vocabulary) -> CommandsResult:
    """Commands on lines of their own in the text, then any in the subject not given there."""
    commands: list[Command] = []
    problems: list[str] = []
    for word, rest, block in _command_blocks(text or ""):
        name = vocab.command_name(word)
        if name is None:
            known = ", ".join(f"#{c}" for c in vocab.commands)
            problems.append(f"#{word} is not a command. The commands are: {known}")
            continue
        commands.append(_read_command(name, rest, block, vocab, problems))
    given = {c.name for c in commands}
    for match in _SUBJECT_COMMAND.finditer(subject or ""):
        if vocab.tag_kind(match["word"]) is not None:
            continue  # a subject tag such as #escalate: classify decides what it means
        name = vocab.command_name(match["word"])
        if name is not None and name not in given:
            commands.append(_read_command(name, match["rest"], "", vocab, problems))
            given.add(name)
    return CommandsResult(tuple(commands), tuple(problems))


def _command_blocks(text: str) -> list[tuple[str, str, str]]:
    """(word, rest of its line, the lines below it up to the next command) for each."""
    blocks: list[tuple[str, str, list[str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _COMMAND_LINE.match(line)
        if match:
            blocks.append((match["word"], match["rest"], []))
        elif blocks:
            blocks[-1][2].append(line)
    return [(word, rest, "\n".join(lines)) for word, rest, lines in blocks]


def _read_command(
    name: str, rest: str, block: str, vocab: Vocabulary, problems: list[str]
) -> Command:
    rule = vocab.commands[name]
    rest = rest.strip().rstrip(".").strip()
    arg: str | None = None
    if rule.arg == "days":
        days = _WORKING_DAYS.match(rest)
        arg = str(int(days["n"])) if days and 0 < int(days["n"]) <= MAX_WORKING_DAYS else None
    elif rule.arg == "stage":
        arg = re.sub(r"^to\s+", "", rest, flags=re.IGNORECASE).strip() or None
    elif rule.arg == "text":
        arg = rest or _first_paragraph(block) or None
    if rule.required and arg is None:
        problems.append(f"#{name} needs {_ARG_WORDS[rule.arg]}, e.g. {rule.example}")
    fields: dict[str, str] = {}
    if rule.fields:
        found = parse_fields(block, vocab, scope="command")
        fields = {k: str(v) for k, v in found.values.items() if k in rule.fields}
        problems.extend(found.errors)
    return Command(name, arg, fields)


_ARG_WORDS = {
    "days": "a number of working days",
    "stage": "a stage",
    "text": "some words after it",
    "none": "nothing",
}


def _first_paragraph(block: str) -> str:
    paragraph: list[str] = []
    for line in block.strip().split("\n"):
        if not line.strip() or _SIGN_OFF.match(line):
            break
        paragraph.append(line.strip())
    return " ".join(paragraph)
