"""`mailagent init DIR`: a council's own copy of the shipped config, rules and templates.

The copy is what the council edits (its ladder, its directory, its wording); the config's
relative paths point at the copies beside it, so `mailagent --config DIR/config.toml` works
as written. Everything is private to the user who runs it, whatever the umask: the rules
and directory name people, and the config names where secrets are.
"""

from __future__ import annotations

import os
from pathlib import Path

from mailagent import shipped

HEADER = "# Written by `mailagent init`: this council's settings. Edit them before first use.\n"


class StarterExists(Exception):
    """Some of the files `init` would write are already there; nothing was written."""

    def __init__(self, existing: list[Path]) -> None:
        super().__init__(f"{len(existing)} files already exist")
        self.existing = existing


def starter_files(folder: Path) -> dict[Path, Path]:
    """Each file `init` writes into `folder`, with the shipped file it copies."""
    plan = {folder / "config.toml": shipped.example_config()}
    for source_dir in (shipped.rules_dir(), shipped.templates_dir()):
        for source in sorted(source_dir.rglob("*")):
            relative = source.relative_to(source_dir)
            if source.is_file() and not any(p.startswith((".", "__")) for p in relative.parts):
                plan[folder / source_dir.name / relative] = source
    return plan


def write_starter(folder: Path, *, force: bool = False) -> list[Path]:
    """Write the starter files into `folder`; raise StarterExists unless `force`."""
    plan = starter_files(folder)
    existing = [target for target in plan if target.exists() or target.is_symlink()]
    if existing and not force:
        raise StarterExists(existing)
    for target, source in plan.items():
        _private_dirs(target.parent)
        content = source.read_bytes()
        if target.name == "config.toml":
            content = HEADER.encode() + content
        _write_private(target, content)
    return list(plan)


def _private_dirs(folder: Path) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir()
        new.chmod(0o700)  # mkdir's mode is masked by the umask; chmod is not


def _write_private(path: Path, content: bytes) -> None:
    # O_NOFOLLOW: --force overwrites a file, never what a symlink in its place points at.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an overwritten file keeps its old mode otherwise
        handle.write(content)
