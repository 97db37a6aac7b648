"""The house rules of ARCHITECTURE.md, checked: one direction of flow between the folders,
no import cycles between modules, and no module too long to read in one sitting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parents[1] / "mailagent"
MAX_LINES = 420  # "about 400": room for a docstring, never a second idea


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), i.e. every import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:  # other tests in this process rely on the usual limit
        sys.setrecursionlimit(limit)
    return found


def test_no_module_imports_back_into_a_cycle() -> None:
    # Function-level imports count too: grimp reads every import statement.
    graph = grimp.build_graph("mailagent")
    assert _cycles(graph) == []


def test_the_layers_contract_holds() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        capture_output=True, text=True, cwd=PACKAGE.parent, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_no_module_is_longer_than_a_sitting() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if "versions" not in p.parts
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
