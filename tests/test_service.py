"""The shipped systemd unit and the documented command lines, run as written.

systemd is not the init system here (nor in CI), so the unit cannot be started by
`systemctl`; instead `systemd-analyze verify` checks the unit (where systemd's tools are
installed), and its ExecStart line is run exactly as written, with only the two paths an
installation chooses (the virtual environment and the config file) pointed at this
checkout. It starts, idles, stops cleanly on the unit's KillSignal within its
TimeoutStopSec, starts again, and a second copy exits with the status the unit's
RestartPreventExitStatus names. Every `mailagent` command line in README.md and docs/ must
parse as written (the unit once passed --config where the command did not take it).
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailagent.cli.main import app
from tests.running import wait_until
from tests.support import PROJECT_DIR, write_config

UNIT = PROJECT_DIR / "deploy" / "mailagent.service"
INSTALLED_BINARY = "/opt/mailagent/.venv/bin/mailagent"
INSTALLED_CONFIG = "/etc/mailagent/config.toml"
MAILAGENT = str(Path(sys.executable).with_name("mailagent"))


def _setting(name: str) -> str:
    (value,) = re.findall(rf"^{name}=(.*)$", UNIT.read_text(), flags=re.M)
    return value.strip()


def _exec_start(config: Path) -> list[str]:
    line = _setting("ExecStart")
    assert line.startswith(INSTALLED_BINARY + " ") and INSTALLED_CONFIG in line
    return shlex.split(line.replace(INSTALLED_BINARY, MAILAGENT)
                       .replace(INSTALLED_CONFIG, str(config)))


def _start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_units_exec_start_runs_as_written_and_stops_and_starts_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path)
    command = _exec_start(config)
    state = tmp_path / "daemon.json"
    assert _setting("KillSignal") == "SIGTERM"
    stop_within = float(_setting("TimeoutStopSec"))
    for start in ("start", "restart"):
        service = _start(command)
        try:
            wait_until(lambda: state.exists() and "waiting for mail" in state.read_text(), 60,
                       f"the service to {start} and idle")
            if start == "start":
                # A second copy (another server, a hand-run) is refused with the exit status
                # the unit does not restart on.
                second = subprocess.run(command, capture_output=True, text=True, timeout=120)
                assert str(second.returncode) == _setting("RestartPreventExitStatus")
                assert "already running on this mailbox" in second.stderr
            service.send_signal(signal.SIGTERM)
            _, stderr = service.communicate(timeout=stop_within)
        finally:
            if service.poll() is None:
                service.kill()
                service.communicate()
        assert service.returncode == 0, stderr  # a clean stop: Restart=on-failure stays off
        assert "stopped cleanly" in stderr
        assert '"doing": "stopped"' in state.read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed here")
def test_systemd_analyze_verifies_the_unit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Only the executable's path changes: systemd checks that it exists.
    unit = tmp_path / "mailagent.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_BINARY, MAILAGENT))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)],
                            capture_output=True, text=True, timeout=120)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if "mailagent.service" in line]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr


DOCUMENTS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
# `mailagent ...` in inline code or a code block, as an operator would copy it.
# Code as an operator would copy it: fenced blocks and inline code (which a paragraph may wrap
# onto a second line), never prose that happens to say "mailagent status".
CODE = re.compile(r"```.*?```|`[^`]*`", flags=re.S)
COMMAND = re.compile(r"(?:^|\s)(?:\S*/)?mailagent ((?:--config|-c|run|db|rules|status|outbox|"
                     r"sweep|summary|report|case|init|inspect|deadline|demo|purge)[^\n#|]*)",
                     flags=re.M)
PLACEHOLDERS = {"REF": "ESC-2026-0001", "FILE": "x.json", "DIR": "/tmp/x", "ISO": "2026-12-01",
                "N": "5", "START": "2026-12-01", "YYYY-MM": "2026-12", "YYYYQn": "2026Q4"}


def _documented_commands() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        # In a Markdown table `\|` is a literal bar: alternatives (FILE.xlsx|.csv), cut off.
        text = document.read_text(encoding="utf-8").replace("\\|", "|")
        for span in CODE.finditer(text):
            code = span.group(0)
            code = code.strip("`") if code.startswith("```") else \
                code.strip("`").replace("\n", " ")
            for match in COMMAND.finditer(code):
                found.append((document.name, match.group(1).strip().rstrip(".,;:)")))
    return found


def test_every_documented_command_line_parses_as_written() -> None:
    # Parsed, not run: --help after the words stops before anything is done, but only once
    # every word before it has been read as a command or an option of the right command.
    commands = _documented_commands()
    assert len(commands) >= 10 and any("--config" in c for _, c in commands)
    for document, line in commands:
        words = shlex.split(re.sub(r"\[[^\]]*\]", "", line))  # drop optional parts: [--once]
        words = [PLACEHOLDERS.get(w, w) for w in words if "|" not in w]
        result = CliRunner().invoke(app, [*words, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (
            f"{document}: `mailagent {line}` does not parse:\n{result.output}")
