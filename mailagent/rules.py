"""A council's rules as data: escalation ladders, collective alerts and commendations.

The files live in a rules directory that a council officer reads and edits (the schema is
documented for them in `rules/README.md`):

    ladders/<id>.toml       one escalation ladder per file
    collective-alert.toml   how collective alerts are raised and chased
    commendation.toml       who is told of good practice

`load_rules` turns them into typed, immutable models or raises `RulesError` listing every
problem found, one `Problem(file, key, message)` each. `check_rules` adds the checks that need
the world outside the rules: roles the directory knows, templates that exist, and the tag and
category vocabulary. Role and template names are plain strings in the files; here they become
`RoleRef` and `TemplateRef` so those checks can find every one of them without a list of
fields to keep in step with the models.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

if TYPE_CHECKING:
    from mailagent.directory import Directory


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the rules, pointing at the file and the key to fix."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.key, self.message) if part)


class RulesError(Exception):
    """The rules (or the directory) cannot be used; `problems` says why, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


M = TypeVar("M", bound=BaseModel)
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TEMPLATE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class RoleRef(str):
    """A role name ("team_manager"): the directory says who holds it."""


class TemplateRef(str):
    """A template name ("escalation"): `templates/<name>.txt.j2` and `<name>.html.j2`."""


def _role(value: str) -> RoleRef:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a role name: use lower-case letters, digits and _")
    return RoleRef(value)


def _template(value: str) -> TemplateRef:
    if not _TEMPLATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a template name: use letters, digits, _ . and -")
    return TemplateRef(value)


def _identifier(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an id: use lower-case letters, digits and _")
    return value


Role = Annotated[str, AfterValidator(_role)]
Template = Annotated[str, AfterValidator(_template)]
Identifier = Annotated[str, AfterValidator(_identifier)]
PlanType = Literal["LAC", "CP"]
TemplatePurpose = Literal[
    "acknowledgment",
    "escalation",
    "reminder",
    "response_received",
    "decision_reminder",
    "overdue_notice",
    "escalated_notice",
    "resolved",
    "withdrawn",
    "extended",
    "paused",
    "resumed",
    "cafcass_referral",
    "director_briefing",
    "whole_process_breach",
]
TEMPLATE_PURPOSES: tuple[str, ...] = get_args(TemplatePurpose)


class _Model(BaseModel):
    # validate_default turns default role and template names into RoleRef/TemplateRef too.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class StageFlags(_Model):
    """Extra duties that come with a stage."""

    director_briefing: bool = False
    challenge_meeting: bool = False


class Stage(_Model):
    """One rung of a ladder: who it goes to, who is copied or told, and how long they have."""

    id: Identifier
    name: str
    kind: Literal["informal", "formal"] = "formal"
    to: Role
    cc: tuple[Role, ...] = ()
    notify: tuple[Role, ...] = ()
    sent_by: Role = "iro"
    resolved_by: tuple[Role, ...] = ("iro", "iro_manager")
    working_days: int | None = Field(default=None, ge=0)
    max_working_days: int | None = Field(default=None, ge=1)
    on_timeout: Literal["escalate", "notify_and_wait"] = "escalate"
    next: Identifier | None = None
    fallback_to: Identifier | None = None
    templates: dict[TemplatePurpose, Template] = {}
    flags: StageFlags = StageFlags()

    @property
    def formal(self) -> bool:
        return self.kind == "formal"

    @property
    def iro_sets_timescale(self) -> bool:
        """Whether the IRO may set this stage's timescale for the individual child."""
        return self.max_working_days is not None

    def timescale(self, requested: int | None = None) -> int:
        """Working days allowed at this stage; `requested` is the IRO's own, where allowed."""
        if requested is None:
            # A stage without working_days has max_working_days (load_rules checks it).
            return self.working_days if self.working_days is not None else self.max_working_days
        if self.max_working_days is None:
            raise ValueError(f"stage {self.id!r} has a fixed timescale of {self.working_days}")
        if not 0 <= requested <= self.max_working_days:
            raise ValueError(
                f"stage {self.id!r} allows 0 to {self.max_working_days} working days,"
                f" not {requested}"
            )
        return requested


class LadderTemplates(_Model):
    """The template used for each purpose across a ladder; a stage may override any of them."""

    acknowledgment: Template = "acknowledgment"
    escalation: Template = "escalation"
    reminder: Template = "reminder"
    response_received: Template = "response_received"
    decision_reminder: Template = "decision_reminder"
    overdue_notice: Template = "overdue_notice"
    escalated_notice: Template = "escalated_notice"
    resolved: Template = "resolved"
    withdrawn: Template = "withdrawn"
    extended: Template = "extended"
    paused: Template = "paused"
    resumed: Template = "resumed"
    cafcass_referral: Template = "cafcass_referral"
    director_briefing: Template = "director_briefing"
    whole_process_breach: Template = "whole_process_breach"


class WholeProcessLimit(_Model):
    """The limit on the whole process (20 working days in the IRO Handbook)."""

    working_days: int = Field(ge=1)
    starts_at: Literal["formal", "opened"] = "formal"
    notify: tuple[Role, ...] = ("iro", "iro_manager")


class Prerequisite(_Model):
    """Something that must happen before a CAFCASS referral."""

    text: str
    action: Literal["meeting", "notify"]
    roles: tuple[Role, ...] = Field(min_length=1)


class CafcassRoute(_Model):
    """Referral to CAFCASS: a side route that may run alongside any stage, not a rung."""

    plan_types: tuple[PlanType, ...] = ("LAC",)
    prerequisites: tuple[Prerequisite, ...] = ()
    checklist: tuple[str, ...] = ()
    notify: tuple[Role, ...] = ()


class CaseRefPrefix(_Model):
    """How case references begin, by the kind of stage a case opens at."""

    informal: str = "PC"
    formal: str = "ESC"


class Ladder(_Model):
    """A council's escalation ladder: ordered stages and the rules over all of them."""

    id: str  # the file's name without .toml: the config chooses a ladder by it
    name: str
    council: str
    policy: str
    plan_types: tuple[PlanType, ...] = ("LAC", "CP")
    reminder_working_days_before: int = Field(default=1, ge=0)
    decision_working_days: int = Field(default=2, ge=0)
    whole_process: WholeProcessLimit | None = None
    bypass: tuple[Identifier, ...] | None = None
    case_ref_prefix: CaseRefPrefix = CaseRefPrefix()
    templates: LadderTemplates = LadderTemplates()
    cafcass: CafcassRoute | None = None
    stages: tuple[Stage, ...] = Field(min_length=1)

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(f"ladder {self.id!r} has no stage {stage_id!r}")

    def next_stage(self, stage_id: str) -> Stage | None:
        """Where escalation goes from this stage: its `next`, else the stage below it."""
        stage = self.stage(stage_id)
        if stage.next is not None:
            return self.stage(stage.next)
        index = self.stages.index(stage)
        return self.stages[index + 1] if index + 1 < len(self.stages) else None

    def bypass_stages(self) -> tuple[Stage, ...]:
        """The stages an IRO may go straight to: `bypass`, else every formal stage."""
        if self.bypass is None:
            return tuple(s for s in self.stages if s.formal)
        return tuple(self.stage(i) for i in self.bypass)

    def template_for(self, stage_id: str, purpose: TemplatePurpose) -> str:
        return self.stage(stage_id).templates.get(purpose) or getattr(self.templates, purpose)


class CollectiveAlertTemplates(_Model):
    draft: Template = "collective_draft"
    raised: Template = "collective_raised"
    followup: Template = "collective_followup"
    overdue: Template = "collective_overdue"


class ThemeSuggestion(_Model):
    """When open escalations recur enough to suggest a collective alert."""

    min_cases: int = Field(default=3, ge=2)
    within_weeks: int = Field(default=12, ge=1)


class CollectiveAlertRules(_Model):
    """A theme across many children, raised by the IRO service with senior managers."""

    drafted_by: Role = "iro"
    agreed_by: Role
    shared_with: tuple[Role, ...] = ()
    raised_with: tuple[Role, ...] = Field(min_length=1)
    acknowledge_weeks: int = Field(ge=1)
    response_weeks: int = Field(ge=1)
    followup_every_weeks: int = Field(ge=1)
    followed_up_by: tuple[Role, ...] = Field(min_length=1)
    updates_to: tuple[Role, ...] = ()
    suggest: ThemeSuggestion = ThemeSuggestion()
    templates: CollectiveAlertTemplates = CollectiveAlertTemplates()


class CommendationTemplates(_Model):
    commendation: Template = "commendation"
    acknowledgment: Template = "commendation_ack"


class CommendationRules(_Model):
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
    problems += _vocabulary_problems(rules_dir)
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


def _vocabulary_problems(rules_dir: Path) -> list[Problem]:
    # Imported here because mailagent.vocabulary builds on this module.
    from mailagent.vocabulary import check_vocabulary

    return check_vocabulary(rules_dir)


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


def read_model(path: Path, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Read one TOML file into `model`, or say what is wrong with it."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return None, [Problem(str(path), "", "file is missing")]
    except tomllib.TOMLDecodeError as e:
        return None, [Problem(str(path), "", f"not valid TOML: {e}")]
    try:
        return model.model_validate(data), []
    except ValidationError as e:
        return None, validation_problems(str(path), e)


def validation_problems(file: str, error: ValidationError) -> list[Problem]:
    """Pydantic's errors as "file: key: message" problems in words a council officer reads."""
    return [Problem(file, _key(e["loc"]), _message(e)) for e in error.errors()]


def _key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for "the key of this dict entry"
            key += f".{part}" if key else part
    return key


def _message(error: ErrorDetails) -> str:
    ctx = error.get("ctx", {})
    match error["type"]:
        case "missing":
            return "required, but missing"
        case "extra_forbidden":
            return "unknown key"
        case "greater_than_equal":
            return f"must be >= {ctx['ge']}"
        case "too_short":
            return "must not be empty"
        case "literal_error":
            return f"must be {ctx['expected']}"
        case "value_error":
            return str(ctx["error"])
        case _:
            return error["msg"]


def ladder_problems(ladder: Ladder, file: str) -> list[Problem]:
    """What the schema alone cannot see: timescales, links between stages, loops, dead ends."""
    problems: list[Problem] = []
    if ladder.id != Path(file).stem:
        problems.append(Problem(file, "id", f"must be the file's name, {Path(file).stem!r}"))
    for i, stage in enumerate(ladder.stages):
        key = f"stages[{i}].working_days"
        if stage.working_days is None and stage.max_working_days is None:
            problems.append(Problem(file, key, "required unless max_working_days is set"))
        elif (
            stage.max_working_days is not None
            and (stage.working_days or 0) > stage.max_working_days
        ):
            problems.append(Problem(file, key, "must not exceed max_working_days"))
    links = _link_problems(ladder, file)
    if links:
        return problems + links  # the checks below follow links, so they must all lead somewhere
    edges = {
        stage.id: [
            (key, target)
            for key, target in (
                (f"stages[{i}].next", _following(ladder, i)),
                (f"stages[{i}].fallback_to", stage.fallback_to),
            )
            if target is not None
        ]
        for i, stage in enumerate(ladder.stages)
    }
    for i, stage in enumerate(ladder.stages):
        if stage.on_timeout == "escalate" and _following(ladder, i) is None:
            problems.append(
                Problem(file, f"stages[{i}].on_timeout", "escalate, but there is no next stage")
            )
    problems += _cycles(edges, file)
    reachable = _reachable(edges, [ladder.first_stage.id, *(s.id for s in ladder.bypass_stages())])
    for i, stage in enumerate(ladder.stages):
        if stage.id not in reachable:
            problems.append(
                Problem(
                    file,
                    f"stages[{i}]",
                    f"stage {stage.id!r} is never reached: no stage leads to it"
                    " and it is not in bypass",
                )
            )
    return problems


def _link_problems(ladder: Ladder, file: str) -> list[Problem]:
    """Stage ids that repeat, and links (`next`, `fallback_to`, `bypass`) to no stage."""
    problems: list[Problem] = []
    index: dict[str, int] = {}
    for i, stage in enumerate(ladder.stages):
        if stage.id in index:
            problems.append(
                Problem(file, f"stages[{i}].id", f"stages[{index[stage.id]}] has the same id")
            )
        index.setdefault(stage.id, i)
    links = [
        (f"stages[{i}].{field}", getattr(stage, field))
        for i, stage in enumerate(ladder.stages)
        for field in ("next", "fallback_to")
    ]
    links += [(f"bypass[{j}]", target) for j, target in enumerate(ladder.bypass or ())]
    problems += [
        Problem(file, key, f"no stage {target!r}")
        for key, target in links
        if target is not None and target not in index
    ]
    return problems


def _following(ladder: Ladder, i: int) -> str | None:
    stage = ladder.stages[i]
    if stage.next is not None:
        return stage.next
    return ladder.stages[i + 1].id if i + 1 < len(ladder.stages) else None


def _cycles(edges: dict[str, list[tuple[str, str]]], file: str) -> list[Problem]:
    """One problem per link that closes a loop, naming the loop."""
    problems: list[Problem] = []
    done: set[str] = set()

    def visit(path: list[str]) -> None:
        for key, target in edges[path[-1]]:
            if target in path:
                loop = " -> ".join([*path[path.index(target) :], target])
                problems.append(Problem(file, key, f"makes a loop: {loop}"))
            elif target not in done:
                visit([*path, target])
        done.add(path[-1])

    for stage_id in edges:
        if stage_id not in done:
            visit([stage_id])
    return problems


def _reachable(edges: dict[str, list[tuple[str, str]]], starts: list[str]) -> set[str]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        for _, target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _references(value: object, key: str = "") -> Iterator[tuple[str, RoleRef | TemplateRef]]:
    """Every role and template name in a parsed document, with the key it sits under."""
    if isinstance(value, RoleRef | TemplateRef):
        yield key, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _references(getattr(value, name), f"{key}.{name}" if key else name)
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _references(item, f"{key}[{i}]")
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _references(item, f"{key}.{name}")
