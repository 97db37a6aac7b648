"""`python -m bench --profile`: cProfile inside the measured processes (the daemon, each
probe), kept light because it is imported by them: nothing here may add to their memory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def profiled(name: str) -> Iterator[None]:
    """cProfile what runs inside, into $BENCH_PROFILE_DIR/NAME.prof, if that is set
    (`python -m bench --profile`); read it with `python -m pstats FILE`."""
    folder = os.environ.get("BENCH_PROFILE_DIR")
    if not folder:
        yield
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        Path(folder).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(Path(folder) / f"{name}.prof"))


def summarise(path: str, top: int = 25) -> None:
    """Where the time went: own time by package, then the costliest calls of our code."""
    import pstats
    from collections import defaultdict

    stats = pstats.Stats(path)
    total = stats.total_tt  # type: ignore[attr-defined]
    by_package: dict[str, float] = defaultdict(float)
    for (file, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(file, name)] += tt
    print(f"{path}: {total:.1f} s profiled\n\nown time by package")
    for package, tt in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {tt / total:6.1%}  {package}")
    print("\ncumulative time of mailagent's own functions")
    ours = [(ct, nc, f"{_package(file, name)}:{name}")
            for (file, _line, name), (_cc, nc, _tt, ct, _c) in stats.stats.items()  # type: ignore[attr-defined]
            if "/mailagent/" in file]
    for ct, nc, name in sorted(ours, reverse=True)[:top]:
        print(f"  {ct / total:6.1%}  {nc:>8}  {name}")


def _package(file: str, name: str = "") -> str:
    if file == "~":  # a built-in: name it by its type, e.g. sqlite3.Cursor
        return "built-in " + (name.split(" of '")[1].split("'")[0] if " of '" in name else name)
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/mailagent/" in file:
        return "mailagent/" + file.split("/mailagent/", 1)[1].split(".py")[0]
    if "/lib/python3" in file:
        return "stdlib/" + file.split("/lib/python3", 1)[1].split("/")[1].removesuffix(".py")
    return file.strip("~<>{}") or "?"


if __name__ == "__main__":
    import sys

    for arg in sys.argv[1:]:
        summarise(arg)
