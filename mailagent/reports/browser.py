"""Headless Chromium: print an HTML file to PDF, or take a screenshot of it.

Chromium comes from Debian's packages (`bash scripts/chromium.sh install`). The flags keep
it from reaching for the network (this machine's is closed; without them it stalls) and
give every run a fresh, empty profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)
TIMEOUT_SECONDS = 90


class BrowserMissing(RuntimeError):
    """Chromium is not installed; the message says how to install it."""


def find_chromium() -> str | None:
    """The Chromium binary: $MAILAGENT_CHROMIUM, else the first of NAMES on PATH."""
    chosen = os.environ.get("MAILAGENT_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).exists() else None
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def print_pdf(html_file: Path, pdf_file: Path) -> None:
    """Print `html_file` to `pdf_file` as Chromium's "Save as PDF" would, without headers."""
    _run([f"--print-to-pdf={pdf_file.resolve()}", "--no-pdf-header-footer"], html_file,
         pdf_file)


def screenshot(html_file: Path, png_file: Path, *, width: int = 900, height: int = 1400) -> None:
    """A PNG of the page at `width` x `height` CSS pixels."""
    _run([f"--screenshot={png_file.resolve()}", f"--window-size={width},{height}"], html_file,
         png_file)


def _run(action: list[str], html_file: Path, output: Path) -> None:
    binary = find_chromium()
    if binary is None:
        raise BrowserMissing(
            "Chromium is needed for this and is not installed: run "
            "`bash scripts/chromium.sh install` (Debian package 'chromium'), or set "
            "MAILAGENT_CHROMIUM to the browser's path."
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    profile = tempfile.mkdtemp(prefix="mailagent-chromium-")
    try:
        result = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *action,
             html_file.resolve().as_uri()],
            capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not output.exists() or output.stat().st_size == 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"Chromium did not write {output} (exit {result.returncode}):\n{tail}")
