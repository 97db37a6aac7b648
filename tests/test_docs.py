"""The documents a council reads point only at files inside the repository, and every such
link leads somewhere; ARCHITECTURE.md names the layers the import contract enforces."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR

DOCUMENTS = sorted([PROJECT_DIR / "README.md", PROJECT_DIR / "ARCHITECTURE.md",
                    PROJECT_DIR / "rules" / "README.md", *(PROJECT_DIR / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_links_stay_inside_the_repository_and_lead_somewhere(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if target.startswith(("https://", "http://", "mailto:")):
            continue
        path = (document.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(PROJECT_DIR), (document.name, target)
        assert path.exists(), (document.name, target)
    assert "../shared" not in text and "shared/notes" not in text


def test_architecture_names_every_layer_of_the_import_contract() -> None:
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    architecture = (PROJECT_DIR / "ARCHITECTURE.md").read_text(encoding="utf-8")
    layers = [layer for c in contracts if c["type"] == "layers" for layer in c["layers"]]
    assert layers
    for layer in layers:
        for module in layer.split("|"):
            name = module.strip().removeprefix("mailagent.")
            assert f"`{name}/`" in architecture or f"`{name}.py`" in architecture, name


def test_every_security_promise_names_tests_that_exist() -> None:
    """README's "Security" table: each promise names at least one test file, and each file
    it names is in the suite and holds tests (so a promise cannot point at nothing)."""
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines()
            if line.startswith("| **") and line.count("|") >= 3]
    assert len(rows) >= 10
    for row in rows:
        named = re.findall(r"`(tests/test_\w+\.py)`", row.rsplit("|", 2)[1])
        assert named, row[:60]
        for name in named:
            source = (PROJECT_DIR / name).read_text(encoding="utf-8")
            assert re.search(r"^def test_", source, re.MULTILINE), name
