"""A council's rules as data: escalation ladders, collective alerts and commendations.

The files live in a rules directory that a council officer reads and edits (the schema is
documented for them in `rules/README.md`):

    ladders/<id>.toml       one escalation ladder per file (`mailagent.policy.ladder`)
    collective-alert.toml   how collective alerts are raised and chased
    commendation.toml       who is told of good practice

`load_rules` turns them into typed, immutable models or raises `RulesError` listing every
problem found, one `Problem(file, key, message)` each. `check_rules` adds the checks that need
the world outside the rules: roles the directory knows, templates that exist, and the tag and
category vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mailagent.policy.directory import Directory
from mailagent.policy.ladder import Ladder, ladder_problems
from mailagent.policy.schema import (
    Problem,
    Role,
    RoleRef,
    RulesError,
    RulesModel,
    Template,
    TemplateRef,
    read_model,
)
from mailagent.policy.vocabulary import (
    COMMANDS_FILE,
    TAGS_FILE,
    check_vocabulary,
    load_vocabulary,
)


class CollectiveAlertTemplates(RulesModel):
    draft: Template = "collective_draft"  # to the IRO team, for comment
    comments: Template = "collective_comments"  # to the drafting IRO: the comments, revise
    agreement: Template = "collective_agreement"  # to the Group Manager, for agreement
    shared: Template = "collective_shared"  # to the Head of Service for S&QA, before raising
    raised: Template = "collective_raised"  # to the Head of Service or Director chosen
    reply: Template = "collective_reply"  # what someone wrote, passed on
    followup: Template = "collective_followup"
    board_update: Template = "collective_board_update"  # for CSMT and the Board
    overdue: Template = "collective_overdue"
    resolved: Template = "collective_resolved"
    returned: Template = "collective_returned"


class ThemeSuggestion(RulesModel):
    """When open escalations recur enough to suggest a collective alert."""

    min_cases: int = Field(default=3, ge=2)
    within_weeks: int = Field(default=12, ge=1)


class CollectiveAlertRules(RulesModel):
    """A theme across many children, raised by the IRO service with senior managers."""

    drafted_by: Role = "iro"
    consulted: tuple[Role, ...] = ()
    comment_working_days: int = Field(default=5, ge=0)
    agreed_by: Role
    shared_with: tuple[Role, ...] = ()
    share_working_days: int = Field(default=2, ge=0)
    raised_with: tuple[Role, ...] = Field(min_length=1)
    acknowledge_weeks: int = Field(ge=1)
    response_weeks: int = Field(ge=1)
    followup_every_weeks: int = Field(ge=1)
    followed_up_by: tuple[Role, ...] = Field(min_length=1)
    followup_reply_working_days: int = Field(default=10, ge=1)
    updates_to: tuple[Role, ...] = ()
    suggest: ThemeSuggestion = ThemeSuggestion()
    templates: CollectiveAlertTemplates = CollectiveAlertTemplates()


class CommendationTemplates(RulesModel):
    commendation: Template = "commendation"
    acknowledgment: Template = "commendation_ack"


class CommendationRules(RulesModel):
    """Who is told when an IRO recognises good practice."""

    sent_by: Role = "iro"
    to: tuple[Role, ...] = Field(min_length=1)
    cc: tuple[Role, ...] = ()
    templates: CommendationTemplates = CommendationTemplates()


class RuleSet(BaseModel):
    """Everything in a rules directory, checked."""

    model_config = ConfigDict(frozen=True)

    ladders: dict[str, Ladder]
    collective_alert: CollectiveAlertRules
    commendation: CommendationRules


LADDERS_DIR = "ladders"


COLLECTIVE_ALERT_FILE = "collective-alert.toml"


COMMENDATION_FILE = "commendation.toml"


def load_rules(rules_dir: Path) -> RuleSet:
    """Read and check the rules in `rules_dir`; raise RulesError listing every problem."""
    documents, problems = _read_all(rules_dir)
    if problems:
        raise RulesError(problems)
    ladders = {doc.id: doc for _, doc in documents if isinstance(doc, Ladder)}
    others = {type(doc): doc for _, doc in documents if not isinstance(doc, Ladder)}
    return RuleSet(
        ladders=ladders,
        collective_alert=others[CollectiveAlertRules],
        commendation=others[CommendationRules],
    )


def check_rules(rules_dir: Path, directory: Directory | None, templates_dir: Path) -> list[Problem]:
    """Every problem with the rules: schema, ladder shape, roles, templates and vocabulary.

    Roles are checked only when a directory is given.
    """
    documents, problems = _read_all(rules_dir)
    known_roles = directory.roles() if directory is not None else None
    for path, doc in documents:
        for key, ref in _references(doc):
            message = _reference_problem(ref, known_roles, templates_dir)
            if message is not None:
                problems.append(Problem(str(path), key, message))
    vocabulary_problems = check_vocabulary(rules_dir)
    problems += vocabulary_problems
    if not vocabulary_problems:
        # Who may open work and who may use each command are roles too.
        vocab = load_vocabulary(rules_dir)
        for file, entries in ((TAGS_FILE, vocab.tags), (COMMANDS_FILE, vocab.commands)):
            for name, entry in entries.items():
                for key, ref in _references(entry, name):
                    message = _reference_problem(ref, known_roles, templates_dir)
                    if message is not None:
                        problems.append(Problem(str(rules_dir / file), key, message))
    return problems


def _reference_problem(
    ref: RoleRef | TemplateRef, known_roles: frozenset[str] | None, templates_dir: Path
) -> str | None:
    """What is wrong with one role or template name, if anything."""
    if isinstance(ref, RoleRef):
        if known_roles is None or ref in known_roles:
            return None
        return f"unknown role {ref!r}: the directory does not define it"
    missing = [
        name for name in (f"{ref}.txt.j2", f"{ref}.html.j2") if not (templates_dir / name).is_file()
    ]
    return f"{' and '.join(missing)} not in {templates_dir}" if missing else None


def _read_all(rules_dir: Path) -> tuple[list[tuple[Path, BaseModel]], list[Problem]]:
    """Parse every rules file; return those that parsed and the problems of the rest."""
    documents: list[tuple[Path, BaseModel]] = []
    problems: list[Problem] = []
    ladder_files = sorted((rules_dir / LADDERS_DIR).glob("*.toml"))
    if not ladder_files:
        problems.append(Problem(str(rules_dir / LADDERS_DIR), "", "no ladder files (*.toml)"))
    sources: list[tuple[Path, type[BaseModel]]] = [(p, Ladder) for p in ladder_files]
    sources += [
        (rules_dir / COLLECTIVE_ALERT_FILE, CollectiveAlertRules),
        (rules_dir / COMMENDATION_FILE, CommendationRules),
    ]
    for path, model in sources:
        doc, doc_problems = read_model(path, model)
        problems += doc_problems
        if doc is None:
            continue
        if isinstance(doc, Ladder):
            problems += ladder_problems(doc, str(path))
        documents.append((path, doc))
    return documents, problems


def _references(value: object, key: str = "") -> Iterator[tuple[str, RoleRef | TemplateRef]]:
    """Every role and template name in a parsed document, with the key it sits under."""
    if isinstance(value, RoleRef | TemplateRef):
        yield key, value
    elif isinstance(value, BaseModel):
        for name in getattr(value, "TEMPLATES", ()):  # a step's emails, by fixed names
            yield key, TemplateRef(name)
        for name, field in type(value).model_fields.items():
            label = field.alias or name  # the key as the file spells it
            yield from _references(getattr(value, name), f"{key}.{label}" if key else label)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _references(item, f"{key}[{i}]")
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _references(item, f"{key}.{name}")
