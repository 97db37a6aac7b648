"""The wheel installs anywhere: built from this checkout and installed into a fresh virtual
environment in a folder far from it, `mailagent` finds its rules and templates inside
itself, tells the same demo story, checks its rules, and writes a council's starter folder.

To stay quick the new environment borrows the test environment's dependencies (a .pth
line naming its site-packages) and only mailagent itself is installed from the wheel. A
.pth line adds a folder without running the .pth files in it, so the checkout's editable
install is not borrowed with them; the test checks that mailagent runs from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from mailagent.cli.demo import run_demo
from tests.support import PROJECT_DIR


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh environment with the wheel of this checkout installed."""
    wheels = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--quiet", "--disable-pip-version-check", "--wheel-dir", str(wheels), str(PROJECT_DIR)])
    [wheel] = wheels.glob("mailagent-*.whl")
    env_dir = tmp_path_factory.mktemp("env")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    borrowed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site.strip()) / "borrowed-test-dependencies.pth").write_text("\n".join(borrowed))
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", "--disable-pip-version-check", str(wheel)])
    return env_dir / "bin"


def _run(args: list[str], cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAILAGENT_CONFIG")}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=240, check=False)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result.stdout


def test_mailagent_runs_from_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = _run([str(installed / "python"), "-c",
                  "import mailagent.shipped as s; print(s.__file__); print(s.rules_dir())"],
                 cwd=tmp_path)
    module, rules = (Path(line) for line in where.splitlines())
    assert module.is_relative_to(installed.parent) and rules.is_relative_to(installed.parent)
    assert not module.is_relative_to(PROJECT_DIR)
    assert (rules / "ladders" / "leicestershire.toml").read_bytes() == (
        PROJECT_DIR / "rules" / "ladders" / "leicestershire.toml").read_bytes()


def test_the_installed_demo_tells_the_same_story(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "installed").mkdir()
    told = _run([str(installed / "mailagent"), "demo", "--dir", "demo"], cwd=tmp_path / "installed")
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")
    here: list[str] = []
    run_demo(Path("demo"), out=here.append)
    assert told.splitlines() == "\n".join(here).splitlines()
    assert "Case ESC-2026-0001 is resolved at Stage Two - Service Manager." in told
    assert len(list((tmp_path / "installed" / "demo" / "sent" / "new").iterdir())) == 12


def test_the_installed_rules_check_and_a_council_starter(installed: Path, tmp_path: Path) -> None:
    shipped = _run([str(installed / "mailagent"), "rules", "check"], cwd=tmp_path)
    assert shipped.strip().endswith("all rules are valid")
    assert Path(shipped.split(":")[0]).is_relative_to(installed.parent)

    _run([str(installed / "mailagent"), "init", "council"], cwd=tmp_path)
    config = tmp_path / "council" / "config.toml"
    checked = _run([str(installed / "mailagent"), "--config", str(config), "rules", "check"],
                   cwd=tmp_path)
    assert checked.strip() == f"{tmp_path / 'council' / 'rules'}: all rules are valid"
