"""The words people use in emails, as data: subject tags, body fields, categories, commands.

Four files in the rules directory, each read into a typed, immutable model:

    tags.toml        subject tags that open work ([ESCALATE], #challenge ...)
    fields.toml      "Name: value" fields, their aliases, plan types, the child-number format
    categories.toml  what an escalation is about
    commands.toml    "#resolved", "#extend 5" ... in replies

`load_vocabulary` raises `RulesError` listing every problem; `check_vocabulary` only lists
them, for `mailagent rules check`. Names are compared case-insensitively and ignoring
punctuation, so "Social worker", "social-worker" and "SOCIAL WORKER:" are one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from mailagent.policy.schema import (
    Identifier,
    PlanType,
    Problem,
    RefPrefix,
    Role,
    RulesError,
    read_model,
)

TAGS_FILE = "tags.toml"
FIELDS_FILE = "fields.toml"
CATEGORIES_FILE = "categories.toml"
COMMANDS_FILE = "commands.toml"

TagKind = Literal["escalation", "challenge", "commendation", "collective_alert"]
TAG_KINDS: tuple[TagKind, ...] = ("escalation", "challenge", "commendation", "collective_alert")
ValueKind = Literal["text", "child_ref", "plan", "category", "stage", "respond_by"]
ArgKind = Literal["none", "days", "stage", "text"]
# The commands mailagent carries out. commands.toml gives each its words and help; it may
# not leave one out (people could not use it) or add another (it would do nothing).
COMMAND_NAMES = (
    "resolved", "escalate", "extend", "withdraw", "cafcass", "note", "pause", "resume",
    "revised", "agree", "return", "raise", "action", "done",
    "challenge-meeting", "legal-advice", "cafcass-meeting", "cafcass-referred",
)
FieldScope = Literal["tag", "command"]


def name_key(name: str) -> str:
    """How names are compared: case-folded, punctuation and repeated spaces removed."""
    return " ".join(re.sub(r"[\W_]+", " ", name.casefold()).split())


def _word(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value):
        raise ValueError(f"{value!r} is not one word: use letters, digits, - and _")
    return value


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise ValueError(f"not a valid regular expression: {e}") from None
    return value


Word = Annotated[str, AfterValidator(_word)]
Pattern = Annotated[str, AfterValidator(_pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TagRule(_Model):
    label: str
    ref_prefix: RefPrefix
    words: tuple[Word, ...] = Field(min_length=1)
    required: tuple[Identifier, ...] = ()
    command: Word | None = None
    # Directory roles whose holders may open this kind of work by email.
    opened_by: tuple[Role, ...] = Field(default=("iro",), min_length=1)


class TagsFile(_Model):
    escalation: TagRule
    challenge: TagRule
    commendation: TagRule
    collective_alert: TagRule


class FieldRule(_Model):
    label: str
    aliases: tuple[str, ...] = ()
    value: ValueKind = "text"
    multiline: bool = False
    example: str
    help: str


class FieldsFile(_Model):
    child_ref_pattern: Pattern
    plan_values: dict[PlanType, tuple[str, ...]]
    tag_fields: dict[Identifier, FieldRule]
    command_fields: dict[Identifier, FieldRule] = {}


class Category(_Model):
    id: Identifier
    label: str
    aliases: tuple[str, ...] = ()


class CategoriesFile(_Model):
    categories: tuple[Category, ...] = Field(min_length=1)


class CommandRule(_Model):
    aliases: tuple[Word, ...] = ()
    arg: ArgKind = "none"
    required: bool = False
    fields: tuple[Identifier, ...] = ()
    example: str
    help: str
    # Who may use it on a case (roles resolved for the case); a stage's `resolved_by`
    # decides #resolved.
    by: tuple[Role, ...] = Field(default=("iro", "iro_manager", "iro_deputy"), min_length=1)


class CommandsFile(RootModel[dict[Word, CommandRule]]):
    model_config = ConfigDict(frozen=True)


@dataclass(frozen=True)
class Vocabulary:
    """Everything the email-reading code needs to know about the words people use."""

    tags: Mapping[str, TagRule]
    tag_fields: Mapping[str, FieldRule]
    command_fields: Mapping[str, FieldRule]
    categories: tuple[Category, ...]
    commands: Mapping[str, CommandRule]
    plan_values: Mapping[str, tuple[str, ...]]
    child_ref_pattern: re.Pattern[str]
    ref_prefixes: tuple[str, ...]  # every case reference begins with one of these
    _names: Mapping[tuple[str, str], str]  # (namespace, name_key) -> id

    def tag_kind(self, word: str) -> str | None:
        """The kind of work a subject tag word opens ("escalation" ...), or None."""
        return self._names.get(("tag", name_key(word)))

    def field_id(self, name: str, scope: FieldScope = "tag") -> str | None:
        """The field a written name means ("Impact on the child" -> "impact"), or None."""
        return self._names.get((f"{scope}_field", name_key(name)))

    def field(self, field_id: str) -> FieldRule:
        return self.tag_fields.get(field_id) or self.command_fields[field_id]

    def command_name(self, word: str) -> str | None:
        """The command a written word means ("resolve" -> "resolved"), or None."""
        return self._names.get(("command", name_key(word)))

    def plan_type(self, value: str) -> str | None:
        """"LAC" or "CP" for a way of writing a plan type, or None."""
        return self._names.get(("plan", name_key(value)))

    def category_id(self, value: str) -> str | None:
        """The id of the category with this exact label, alias or id, or None."""
        return self._names.get(("category", name_key(value)))

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def category_names(self) -> dict[str, str]:
        """Every way of writing a category (name key) -> its id, for fuzzy matching."""
        return {key: cid for (space, key), cid in self._names.items() if space == "category"}


@dataclass(frozen=True)
class _Files:
    tags: TagsFile
    fields: FieldsFile
    categories: CategoriesFile
    commands: CommandsFile


def load_vocabulary(rules_dir: Path) -> Vocabulary:
    """Read the vocabulary from `rules_dir`; raise RulesError listing every problem."""
    files, problems = _read(rules_dir)
    if files is None or problems:
        raise RulesError(problems)
    names, _ = _names(files, rules_dir)
    return Vocabulary(
        tags={kind: getattr(files.tags, kind) for kind in TAG_KINDS},
        tag_fields=dict(files.fields.tag_fields),
        command_fields=dict(files.fields.command_fields),
        categories=files.categories.categories,
        commands=dict(files.commands.root),
        plan_values=dict(files.fields.plan_values),
        child_ref_pattern=re.compile(files.fields.child_ref_pattern),
        ref_prefixes=tuple(getattr(files.tags, kind).ref_prefix for kind in TAG_KINDS),
        _names=names,
    )


def check_vocabulary(rules_dir: Path) -> list[Problem]:
    """Every problem with tags.toml, fields.toml, categories.toml and commands.toml."""
    return _read(rules_dir)[1]


def _read(rules_dir: Path) -> tuple[_Files | None, list[Problem]]:
    tags, p1 = read_model(rules_dir / TAGS_FILE, TagsFile)
    fields, p2 = read_model(rules_dir / FIELDS_FILE, FieldsFile)
    categories, p3 = read_model(rules_dir / CATEGORIES_FILE, CategoriesFile)
    commands, p4 = read_model(rules_dir / COMMANDS_FILE, CommandsFile)
    problems = p1 + p2 + p3 + p4
    if tags is None or fields is None or categories is None or commands is None:
        return None, problems
    files = _Files(tags, fields, categories, commands)
    problems += _names(files, rules_dir)[1] + _cross_references(files, rules_dir)
    return files, problems


def _names(files: _Files, rules_dir: Path) -> tuple[dict[tuple[str, str], str], list[Problem]]:
    """The lookup of every written name, and a problem for each name used twice."""
    names: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []

    def add(space: str, written: Iterable[str], target: str, file: str, key: str) -> None:
        for name in written:
            normal = name_key(name)
            other = names.setdefault((space, normal), target)
            if other != target:
                problems.append(
                    Problem(str(rules_dir / file), key, f"{name!r} is also used by {other!r}")
                )

    for kind in TAG_KINDS:
        add("tag", getattr(files.tags, kind).words, kind, TAGS_FILE, f"{kind}.words")
    for scope in ("tag", "command"):
        table = getattr(files.fields, f"{scope}_fields")
        for fid, rule in table.items():
            written = (fid, rule.label, *rule.aliases)
            add(f"{scope}_field", written, fid, FIELDS_FILE, f"{scope}_fields.{fid}")
    for plan, written in files.fields.plan_values.items():
        add("plan", (plan, *written), plan, FIELDS_FILE, f"plan_values.{plan}")
    for i, cat in enumerate(files.categories.categories):
        written = (cat.id, cat.label, *cat.aliases)
        add("category", written, cat.id, CATEGORIES_FILE, f"categories[{i}]")
    for name, rule in files.commands.root.items():
        add("command", (name, *rule.aliases), name, COMMANDS_FILE, name)
    return names, problems


def _cross_references(files: _Files, rules_dir: Path) -> list[Problem]:
    """Names one file uses that another must define, and ids that must be unique."""
    return (
        _tag_problems(files, str(rules_dir / TAGS_FILE))
        + _command_field_problems(files, str(rules_dir / FIELDS_FILE))
        + _category_problems(files, str(rules_dir / CATEGORIES_FILE))
        + _command_problems(files, str(rules_dir / COMMANDS_FILE))
    )


def _tag_problems(files: _Files, file: str) -> list[Problem]:
    problems: list[Problem] = []
    prefixes: dict[str, str] = {}
    for kind in TAG_KINDS:
        rule: TagRule = getattr(files.tags, kind)
        owner = prefixes.setdefault(rule.ref_prefix, kind)
        if owner != kind:
            problems.append(Problem(file, f"{kind}.ref_prefix", f"also used by {owner}"))
        problems += [
            Problem(file, f"{kind}.required", f"{fid!r} is not in tag_fields")
            for fid in rule.required
            if fid not in files.fields.tag_fields
        ]
        if rule.command is not None and rule.command not in files.commands.root:
            problems.append(Problem(file, f"{kind}.command", f"{rule.command!r} is not a command"))
    return problems


def _command_field_problems(files: _Files, file: str) -> list[Problem]:
    # one namespace for both tables, and text only: commands carry their fields as strings
    problems: list[Problem] = []
    for fid, rule in files.fields.command_fields.items():
        if fid in files.fields.tag_fields:
            problems.append(Problem(file, f"command_fields.{fid}", "also a tag field"))
        if rule.value != "text":
            problems.append(Problem(file, f"command_fields.{fid}.value", "must be text"))
    return problems


def _category_problems(files: _Files, file: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, category in enumerate(files.categories.categories):
        if category.id in seen:
            problems.append(Problem(file, f"categories[{i}].id", f"{category.id!r} is used twice"))
        seen.add(category.id)
    return problems


def _command_problems(files: _Files, file: str) -> list[Problem]:
    problems = [
        Problem(file, f"{name}.fields", f"{fid!r} is not in command_fields")
        for name, command in files.commands.root.items()
        for fid in command.fields
        if fid not in files.fields.command_fields
    ]
    known = ", ".join(COMMAND_NAMES)
    problems += [Problem(file, name, f"not a command mailagent carries out (they are: {known});"
                                     " to give a command another word, use its aliases")
                 for name in files.commands.root if name not in COMMAND_NAMES]
    problems += [Problem(file, name, "missing: mailagent carries out this command, so it "
                                     "needs its table")
                 for name in COMMAND_NAMES if name not in files.commands.root]
    return problems
