"""The oversight commands: `summary`, `report challenge-meeting`, `report quarterly` and
`case export`. `mailagent.cli.main` adds them with `register(app)`.

Each command parses its options and calls one function in `mailagent.reports`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from mailagent.app import Agent
from mailagent.cli.common import fail, open_agent, settings_from
from mailagent.cli.options import ConfigOption
from mailagent.private import make_private

NowOption = Annotated[
    str | None,
    typer.Option(help="Pretend it is this ISO date-time (local time if no zone)."),
]

report_app = typer.Typer(help="Reports for managers and the Corporate Parenting Board.",
                         no_args_is_help=True)
case_app = typer.Typer(help="One case.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the oversight commands to the `mailagent` command."""
    app.command("summary")(summary)
    app.add_typer(report_app, name="report")
    app.add_typer(case_app, name="case")


def _open(config: Path | None, now: str | None):  # type: ignore[no-untyped-def]
    """The agent on a clock fixed at `now` (or the real time), from the config."""
    from mailagent.clock import FixedClock

    settings = settings_from(config)
    moment = datetime.now(ZoneInfo(settings.calendar.timezone))
    if now:
        try:
            moment = datetime.fromisoformat(now)
        except ValueError:
            fail(f"--now: not an ISO date-time: {now!r}")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(settings.calendar.timezone))
    return open_agent(settings, clock=FixedClock(moment))


def summary(
    config: ConfigOption = None,
    preview: Annotated[bool, typer.Option(
        "--preview", help="Show the summary instead of queueing it.")] = False,
    now: Annotated[str | None, typer.Option(
        help="Pretend it is this ISO date-time (local time if no zone); the cases are as "
        "they are in the database now.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="With --preview: write it to this file (.html, .eml or .txt).")] = None,
    iro: Annotated[str | None, typer.Option(
        help="With --preview: the summary one IRO would get (their email address).")] = None,
) -> None:
    """The daily summary for the IRO team manager: queue it, or --preview it."""
    from sqlmodel import Session

    from mailagent.reports.summary import build_summary, render_summary, send_daily_summary

    agent = _open(config, now)
    try:
        moment = agent.clock.now()
        if not preview:
            if send_daily_summary(agent, moment):
                typer.echo("daily summary queued; `mailagent run --once` sends it")
            else:
                typer.echo("nothing queued: not a working day, before the sending time, "
                           "nothing to say, or already queued today")
            return
        with Session(agent.engine) as session:
            rendered = render_summary(agent, build_summary(session, agent, moment, for_iro=iro))
        _show_summary(agent, rendered, out)
    finally:
        agent.close()


def _show_summary(agent, rendered, out: Path | None) -> None:  # type: ignore[no-untyped-def]
    if out is None:
        typer.echo(f"Subject: {rendered.subject}\n\n{rendered.text}")
        return
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".html", ".htm"):
        out.write_text(rendered.html, encoding="utf-8")
    elif suffix == ".eml":
        from email.utils import make_msgid

        from mailagent.store.outbox import OutgoingEmail, compose

        email = OutgoingEmail(to=[], subject=rendered.subject, text=rendered.text,
                              html=rendered.html, automated=True)
        out.write_bytes(compose(email, agent.sender, make_msgid(domain=agent.sender.domain),
                                agent.clock.now()))
    else:
        out.write_text(f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8")
    make_private(out)
    typer.echo(f"wrote {out}")


@report_app.command("challenge-meeting")
def challenge_meeting(
    month: Annotated[str | None, typer.Option(
        help="The month, YYYY-MM (default: this month).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the pack to this file (.html or .txt) instead of the terminal.")] = None,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """The monthly pack of stage 3 and 4 cases for the challenge meeting."""
    from sqlmodel import Session

    from mailagent.reports.challenge import Month, build_pack, render_pack, write_pack

    with _reporting(config, now) as agent:
        moment = agent.clock.now()
        chosen = Month.parse(month) if month else Month.containing(
            moment.astimezone(agent.calendar.tz).date())
        with Session(agent.engine) as session:
            pack = build_pack(session, agent, chosen, moment)
        if out is None:
            typer.echo(render_pack(pack, "txt", _templates(agent)))
            return
        write_pack(pack, out, _templates(agent))
    referred = (f", and {len(pack.referred_cases)} referred outside the stages"
                if pack.referred_cases else "")
    typer.echo(f"wrote {out}: {len(pack.open_cases)} open and "
               f"{len(pack.closed_cases)} closed cases for {pack.month.label}{referred}")


@report_app.command("quarterly")
def quarterly(
    out: Annotated[Path, typer.Option(help="The file to write: .xlsx, .csv or .html.")],
    quarter: Annotated[str | None, typer.Option(
        help="The quarter, YYYYQn (default: the last complete quarter).")] = None,
    without_matter: Annotated[bool, typer.Option(
        "--without-matter", help="Leave the IRO's words about each case out of the HTML "
        "(for papers that leave the service).")] = False,
    config: ConfigOption = None,
    now: NowOption = None,
) -> None:
    """Counts, rates and timescales for a quarter, with charts."""
    from sqlmodel import Session

    from mailagent.reports.quarterly import Quarter, build_quarterly
    from mailagent.reports.quarterly_files import write_report

    with _reporting(config, now) as agent:
        moment = agent.clock.now()
        chosen = Quarter.parse(quarter) if quarter else Quarter.containing(
            moment.astimezone(agent.calendar.tz).date()).previous()
        with Session(agent.engine) as session:
            report = build_quarterly(session, agent, chosen, moment)
        write_report(report, out, include_matter=not without_matter,
                     templates_dir=_templates(agent))
    cases = "1 case" if report.raised == 1 else f"{report.raised} cases"
    typer.echo(f"wrote {out}: {report.quarter.label}, {cases}")


@case_app.command("export")
def case_export(
    ref: Annotated[str, typer.Argument(help="The case reference, e.g. ESC-2026-0001.")],
    out: Annotated[Path, typer.Option(help="The file to write: .html, .pdf or .json.")],
    config: ConfigOption = None,
) -> None:
    """A case's complete timeline, for the child's file (Mosaic, LCS...)."""
    from sqlmodel import Session

    from mailagent.reports.export import build_export, write_export

    with _reporting(config, None) as agent:
        with Session(agent.engine) as session:
            export = build_export(session, agent, ref, agent.clock.now())
        write_export(agent, export, out)
    typer.echo(f"wrote {out}: {len(export.events)} events and {len(export.emails)} emails")


@contextmanager
def _reporting(config: Path | None, now: str | None) -> Iterator[Agent]:
    """The agent for one report; a problem with the report ends the command, saying what."""
    from mailagent.reports.browser import BrowserMissing
    from mailagent.reports.quarterly import ReportProblem

    agent = _open(config, now)
    try:
        yield agent
    except (ReportProblem, BrowserMissing) as exc:
        fail(str(exc))
    finally:
        agent.close()


def _templates(agent) -> Path | None:  # type: ignore[no-untyped-def]
    folder = agent.settings.agent.templates_dir
    return folder if folder.is_dir() else None
