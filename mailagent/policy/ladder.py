"""An escalation ladder as data: ordered stages, who each goes to, who is copied or told,
how long they have, and the checks that the schema alone cannot make (links between
stages, loops, dead ends). One file per council in `rules/ladders/`; the schema is
documented for council officers in `rules/README.md`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import Field

from mailagent.policy.schema import Identifier, PlanType, Problem, Role, RulesModel, Template
from mailagent.policy.side_routes import (
    CafcassReferralSteps,
    ChallengeMeetingRoute,
    LegalAdviceRoute,
    TeamLearningRoute,
    TrackingRoute,
)

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


class StageFlags(RulesModel):
    """Extra duties that come with a stage."""

    director_briefing: bool = False
    challenge_meeting: bool = False


class Stage(RulesModel):
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


class LadderTemplates(RulesModel):
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


class WholeProcessLimit(RulesModel):
    """The limit on the whole process (20 working days in the IRO Handbook)."""

    working_days: int = Field(ge=1)
    starts_at: Literal["formal", "opened"] = "formal"
    notify: tuple[Role, ...] = ("iro", "iro_manager")


class Prerequisite(RulesModel):
    """Something that must happen before a CAFCASS referral."""

    text: str
    action: Literal["meeting", "notify"]
    roles: tuple[Role, ...] = Field(min_length=1)


class CafcassRoute(RulesModel):
    """Referral to CAFCASS: a side route that may run alongside any stage, not a rung."""

    plan_types: tuple[PlanType, ...] = ("LAC",)
    prerequisites: tuple[Prerequisite, ...] = ()
    checklist: tuple[str, ...] = ()
    notify: tuple[Role, ...] = ()
    referral: CafcassReferralSteps = CafcassReferralSteps()


class Ladder(RulesModel):
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
    templates: LadderTemplates = LadderTemplates()
    cafcass: CafcassRoute | None = None
    # Steps beside the stages (`mailagent.policy.side_routes`).
    challenge_meeting: ChallengeMeetingRoute | None = None
    legal_advice: LegalAdviceRoute | None = None
    tracking: TrackingRoute | None = None
    team_learning: TeamLearningRoute | None = None
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
    if ladder.tracking is not None:
        links += [(f"tracking.stages[{j}]", target)
                  for j, target in enumerate(ladder.tracking.stages)]
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
