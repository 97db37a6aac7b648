"""`mailagent demo` tells a whole escalation (a reply, an automatic escalation, a resolution),
a commendation and the daily summary."""

from __future__ import annotations

from pathlib import Path

from mailagent.cli.demo import run_demo


def test_demo_shows_escalation_reply_automatic_escalation_and_resolution(tmp_path: Path) -> None:
    lines: list[str] = []
    run_demo(tmp_path / "demo", out=lines.append)
    told = "\n".join(lines)
    for step in (
        "opened ESC-2026-0001",
        '"[ESC-2026-0001] Stage One - Team Manager: Escalation, response by '
        'Tue 29 Dec" to Tara Moss (copy: Sam Walker, Irene Reed)',
        '"[ESC-2026-0001] Reminder: response due by Tue 29 Dec',
        'Email held until Wed 30 Dec 09:00: "[ESC-2026-0001] Stage Two - Service Manager',
        "3 held email(s) sent now.",
        "response at Stage Two - Service Manager",
        '"[ESC-2026-0001] Response received from Sean Mills: please decide" to Irene Reed',
        '"[ESC-2026-0001] Resolved at Stage Two - Service Manager"',
        "Case ESC-2026-0001 is resolved at Stage Two - Service Manager.",
        "filed GP-2026-0001",
        '"[GP-2026-0001] Good practice recognised: North Children in Care Team" to Sam Walker',
        "daily summary for Monday 4 January 2027",
    ):
        assert step in told, step
    # 9 about the escalation, 2 about the commendation, 1 daily summary.
    assert len(list((tmp_path / "demo" / "sent" / "new").iterdir())) == 12
