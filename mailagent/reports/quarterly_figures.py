"""The quarterly report's figures, for all cases and split by plan type, as the IROs'
annual reports give them: looked-after children (LAC, the IROs' cases) and children on a
child protection plan (CP, the Conference Chairs').

Every figure is counted over a list of case rows: raised, resolved, withdrawn and open, the
resolution rate, the working days to resolution (median, 90th percentile by the
nearest-rank method), and responses per level. `Breakdown` and `LevelResponses` carry
their own split by plan type (`plans`), and `PlanFigures` the headline figures for each.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from mailagent.reports.history import LATE, NO_RESPONSE, ON_TIME, CaseStory, level_label

ALL = "All"
NO_PLAN = "Not recorded"
PLAN_ORDER = ("LAC", "CP")
PLAN_TITLES = {ALL: "All cases", "LAC": "Looked-after children (LAC)",
               "CP": "Child protection plans (CP)", NO_PLAN: "Plan not recorded"}


class Row(Protocol):
    """What the figures read from a case row (`quarterly.CaseRow`)."""

    plan: str
    status: str
    working_days: int | None


def plan_of(row: Row) -> str:
    return row.plan or NO_PLAN


def plans_in(rows: Sequence[Row], plan_types: Sequence[str]) -> tuple[str, ...]:
    """The plan types to show: the ladder's, in the usual order, then "Not recorded" when a
    case has no plan type."""
    found = {plan_of(r) for r in rows}
    shown = [p for p in PLAN_ORDER if p in plan_types or p in found]
    shown += sorted(p for p in found if p not in shown and p != NO_PLAN)
    return tuple(shown + ([NO_PLAN] if NO_PLAN in found else []))


@dataclass(frozen=True)
class Breakdown:
    """Cases of one category, team, IRO or level; `plans` the same counts by plan type."""

    label: str
    raised: int
    resolved: int
    withdrawn: int
    open: int
    plans: tuple[Breakdown, ...] = ()

    @property
    def rate(self) -> float | None:
        return self.resolved / self.raised if self.raised else None

    def plan(self, plan: str) -> Breakdown:
        return next((b for b in self.plans if b.label == plan),
                    Breakdown(plan, 0, 0, 0, 0))


@dataclass(frozen=True)
class LevelResponses:
    level: int
    label: str
    on_time: int
    late: int
    no_response: int
    plans: tuple[LevelResponses, ...] = ()

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.no_response

    def plan(self, plan: str) -> LevelResponses:
        return next((r for r in self.plans if r.label == plan),
                    LevelResponses(self.level, plan, 0, 0, 0))


@dataclass(frozen=True)
class PlanFigures:
    """The headline figures for all cases (`plan` "All") or for one plan type."""

    plan: str
    raised: int
    resolved: int
    withdrawn: int
    open: int
    days_to_resolution: tuple[int, ...]
    on_time: int
    late: int
    no_response: int

    @property
    def title(self) -> str:
        return PLAN_TITLES.get(self.plan, self.plan)

    @property
    def rate(self) -> float | None:
        return self.resolved / self.raised if self.raised else None

    @property
    def days_median(self) -> float | None:
        days = self.days_to_resolution
        return float(statistics.median(days)) if days else None

    @property
    def days_p90(self) -> int | None:
        return percentile(self.days_to_resolution, 90)


def percentile(values: Iterable[int], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _counts(label: str, rows: Sequence[Row]) -> Breakdown:
    return Breakdown(label=label, raised=len(rows),
                     resolved=sum(r.status == "resolved" for r in rows),
                     withdrawn=sum(r.status == "withdrawn" for r in rows),
                     open=sum(r.status == "open" for r in rows))


def breakdown(rows: Sequence[Row], key: Callable[[Any], str], plans: Sequence[str],
              order: list[str] | None = None) -> tuple[Breakdown, ...]:
    """Counts per `key(row)`, largest first (or in `order`), each split by plan type."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    labels = order or sorted(groups, key=lambda label: (-len(groups[label]), label))
    out = []
    for label in labels:
        if label not in groups:
            continue
        whole = _counts(label, groups[label])
        split = tuple(_counts(p, [r for r in groups[label] if plan_of(r) == p]) for p in plans)
        out.append(replace(whole, plans=split))
    return tuple(out)


def responses(stories: Sequence[CaseStory], ladder: Any, as_at: datetime,
              plans: Sequence[str]) -> tuple[LevelResponses, ...]:
    """Per level: stage visits answered on time, late, or whose deadline passed unanswered,
    each split by plan type."""
    counts: dict[int, dict[str, Counter[str]]] = {}
    for story in stories:
        plan = story.case.plan or NO_PLAN
        for visit in story.visits:
            if visit.level is None:
                continue
            by_plan = counts.setdefault(visit.level, {})
            by_plan.setdefault(plan, Counter())[visit.timeliness(as_at)] += 1

    def level(level_no: int, label: str, c: Counter[str]) -> LevelResponses:
        return LevelResponses(level_no, label, c[ON_TIME], c[LATE], c[NO_RESPONSE])

    out = []
    for level_no, by_plan in sorted(counts.items()):
        total = sum(by_plan.values(), Counter())
        if not total[ON_TIME] + total[LATE] + total[NO_RESPONSE]:
            continue
        whole = level(level_no, level_label(ladder, level_no), total)
        split = tuple(level(level_no, p, by_plan.get(p, Counter())) for p in plans)
        out.append(replace(whole, plans=split))
    return tuple(out)


def plan_figures(rows: Sequence[Row], levels: Sequence[LevelResponses],
                 plans: Sequence[str]) -> tuple[PlanFigures, ...]:
    """The headline figures for all cases, then for each plan type."""

    def figures(plan: str, chosen: list[Row], answered: list[LevelResponses]) -> PlanFigures:
        whole = _counts(plan, chosen)
        return PlanFigures(
            plan=plan, raised=whole.raised, resolved=whole.resolved, withdrawn=whole.withdrawn,
            open=whole.open,
            days_to_resolution=tuple(r.working_days for r in chosen
                                     if r.working_days is not None),
            on_time=sum(x.on_time for x in answered), late=sum(x.late for x in answered),
            no_response=sum(x.no_response for x in answered))

    out = [figures(ALL, list(rows), list(levels))]
    for plan in plans:
        out.append(figures(plan, [r for r in rows if plan_of(r) == plan],
                           [x.plan(plan) for x in levels]))
    return tuple(out)
