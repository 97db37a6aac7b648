"""What a bench run measured: each figure beside the issue's target, the floor measured in
the same run, and the ratio of the two; printed as a table and kept as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Check = Callable[[float, float | None], bool]


@dataclass
class Figure:
    section: str  # P1 ... P4, or "peer"
    name: str
    value: float | None  # None: not measured (see note)
    unit: str
    target: str  # the target, in words
    floor: float | None = None
    floor_name: str = ""
    met: bool | None = None  # None: no target, or not measured
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # sizes, counts, timings of steps

    def add(self, section: str, name: str, value: float | None, unit: str, target: str = "",
            *, floor: float | None = None, floor_name: str = "", check: Check | None = None,
            note: str = "") -> Figure:
        met = None if value is None or check is None else check(value, floor)
        figure = Figure(section, name, value, unit, target, floor, floor_name, met, note)
        self.figures.append(figure)
        print(render_row(figure), flush=True)
        return figure

    def to_json(self) -> dict[str, Any]:
        rows = []
        for f in self.figures:
            row = asdict(f)
            row["ratio"] = f.ratio
            rows.append(row)
        return {"facts": self.facts, "figures": rows}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")


def at_most(limit: float) -> Check:
    return lambda value, _floor: value <= limit


def at_most_above_floor(extra: float) -> Check:
    return lambda value, floor: floor is not None and value <= floor + extra


def at_least_of_floor(share: float) -> Check:
    return lambda value, floor: bool(floor) and value / floor >= share  # type: ignore[operator]


def within(share: float) -> Check:
    return lambda value, _floor: abs(value) <= share


def show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value:+.1f} %"
    if unit in ("s", "ms") and value < 10:
        return f"{value:.3f} {unit}" if value < 1 else f"{value:.2f} {unit}"
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def verdict(figure: Figure) -> str:
    if figure.met is None:
        if figure.value is None and "stopped at" in figure.note and figure.unit != "MiB":
            return "MISSED (ran past its cap)"  # every time cap is above its target
        return "not measured" if figure.value is None and figure.target else ""
    return "met" if figure.met else "MISSED"


HEADER = ("", "figure", "value", "target", "floor (same run)", "ratio", "")


def cells(f: Figure) -> tuple[str, ...]:
    floor = f"{show(f.floor, f.unit)} {f.floor_name}".strip() if f.floor is not None else ""
    ratio = f"{f.ratio:.3f}" if f.ratio is not None else ""
    name = f"{f.name} ({f.note})" if f.note else f.name
    return (f.section, name, show(f.value, f.unit), f.target, floor, ratio, verdict(f))


def render_row(f: Figure) -> str:
    section, name, value, target, floor, ratio, mark = cells(f)
    return (f"{section:<5} {name[:60]:<60} {value:>12}  {target:<20} {floor[:36]:<36} "
            f"{ratio:>7}  {mark}")


def markdown(results: dict[str, Any]) -> str:
    """The table for README: every figure with its target, floor, ratio and verdict."""
    lines = ["| | figure | value | target | floor (same run) | ratio | |",
             "|---|---|---|---|---|---|---|"]
    for row in results["figures"]:
        f = Figure(**{k: v for k, v in row.items() if k != "ratio"})
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(f)) + " |")
    return "\n".join(lines)
