"""The `mailagent` command: each sub-command parses its options and calls one function."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from mailagent.cli import outbox, reports
from mailagent.cli.common import (
    FaultsInOneLine,
    fail,
    open_agent,
    settings_from,
    setup_logging,
)
from mailagent.cli.options import ConfigOption
from mailagent.config import Settings
from mailagent.private import restrict_umask

app = typer.Typer(
    help="Tracks IRO and CP chair escalations up a council's management ladder by email.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=FaultsInOneLine,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
rules_app = typer.Typer(
    help="The council's rules (ladders, tags, categories).", no_args_is_help=True
)


@app.callback()
def _before_any_command(config: ConfigOption = None) -> None:
    # `mailagent --config FILE COMMAND`: each command's own --config falls back on this one.
    del config


app.add_typer(db_app, name="db")
app.add_typer(rules_app, name="rules")
reports.register(app)
outbox.register(app)


@app.command()
def run(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron).")] = False,
    wait_for_lock: Annotated[
        float,
        typer.Option(help="If another mailagent holds the mailbox, wait this many seconds "
                     "for it before giving up.", min=0),
    ] = 0.0,
) -> None:
    """Watch the mailbox, apply deadlines and send email (the long-running job).

    The long-running job waits out a database or mailbox that is down, at start or later;
    `--once` reports it in one line and exits with status 4, for cron to run it again."""
    from mailagent.runners.daemon import serve
    from mailagent.runners.instance import AlreadyRunning
    from mailagent.store.db import where

    settings = settings_from(config)
    setup_logging(settings)
    _refuse_invalid_rules(settings)
    try:
        if once:
            _one_pass(settings, wait_for_lock)
        else:
            serve(lambda: open_agent(settings), database=where(settings.database.url),
                  lock_wait_seconds=wait_for_lock)
    except AlreadyRunning as exc:
        fail(str(exc), code=3)


def _one_pass(settings: Settings, wait_for_lock: float) -> None:
    from mailagent.runners.instance import instance_lock
    from mailagent.runners.pipeline import run_once

    agent = open_agent(settings)
    try:
        # Even one pass holds the mailbox, so cron and a running daemon never both act.
        with instance_lock(agent, wait_seconds=wait_for_lock):
            report = run_once(agent)
    finally:
        agent.close()
    delivery = report.delivery
    # A quiet pass says nothing, so that cron mails the operator only when it matters.
    if report.fetched or delivery.sent or delivery.retrying or delivery.failed:
        typer.echo(
            f"fetched {report.fetched}, processed {report.processed}, "
            f"quarantined {report.quarantined}, already seen {report.duplicates}; "
            f"sent {delivery.sent}, retrying {delivery.retrying}, failed {delivery.failed}"
        )


def _refuse_invalid_rules(settings: Settings) -> None:
    problems = _rule_problems(settings, settings.agent.rules_dir)
    if problems:
        fail("mailagent will not start: the rules have problems:\n" + "\n".join(problems))


def _rule_problems(settings: Settings, rules_dir: Path, *, given: bool = False) -> list[str]:
    """Problems with the rules; `given` when the folder was named on the command line."""
    from mailagent.policy.directory import load_directory
    from mailagent.policy.rules import check_rules

    if given and not rules_dir.is_dir():
        return [f"{rules_dir}: there is no such folder"]
    missing = [
        f"{settings.path or '<config>'}: {key}: there is no folder {folder} (a relative path "
        f"is taken from the config file's folder; `mailagent init` writes a starting one)"
        for key, folder in (("agent.rules_dir", rules_dir),
                            ("agent.templates_dir", settings.agent.templates_dir))
        if not folder.is_dir()
    ]
    if missing:
        return missing
    try:
        directory = load_directory(settings.directory.path)
    except Exception as exc:  # the directory's own problems are reported, not raised
        return [str(exc)]
    problems = check_rules(rules_dir, directory, settings.agent.templates_dir)
    return [str(problem) for problem in problems]


@app.command()
def demo(
    workdir: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its database and mail.")
    ] = Path("var/demo"),
) -> None:
    """Play a scripted escalation on the embedded default and say what happened."""
    from mailagent.cli.demo import run_demo

    run_demo(workdir, out=typer.echo)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The folder to write into (made if missing).")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the files that are already there.")
    ] = False,
) -> None:
    """Write a starting config.toml, ladders, rules and templates for a council to edit."""
    from mailagent.cli.init import StarterExists, write_starter

    try:
        written = write_starter(folder, force=force)
    except StarterExists as exc:
        shown = "\n".join(f"  {path}" for path in exc.existing[:10])
        more = f"\n  ... and {len(exc.existing) - 10} more" if len(exc.existing) > 10 else ""
        fail(f"{folder} already has {len(exc.existing)} of the files init writes; nothing "
             f"was written (--force overwrites them):\n{shown}{more}")
    except OSError as exc:
        fail(f"cannot write into {folder}: {exc.strerror} ({exc.filename})")
    config = folder / "config.toml"
    typer.echo(
        f"wrote {len(written)} files into {folder}, readable by you only. Next:\n"
        f"  1. edit {config}: the council's ladder, mailbox, closure days, database, mail\n"
        f"  2. put the council's ladder in {folder / 'rules' / 'ladders'} and its people in a "
        f"directory file\n"
        f"  3. mailagent --config {config} rules check"
    )


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or migrate the database schema to the latest version."""
    from mailagent.app import database_engine
    from mailagent.config import ConfigError
    from mailagent.store.db import upgrade

    settings = settings_from(config)
    try:
        engine = database_engine(settings)
    except ConfigError as exc:
        fail(f"mailagent cannot reach the database:\n{exc}")
    upgrade(engine)
    typer.echo("database is up to date")


@rules_app.command("check")
def rules_check(
    rules_dir: Annotated[Path | None, typer.Argument(help="Rules folder to check.")] = None,
    config: ConfigOption = None,
) -> None:
    """Validate ladders, tags, categories, roles and templates; one line per problem."""
    settings = settings_from(config)
    folder = rules_dir or settings.agent.rules_dir
    problems = _rule_problems(settings, folder, given=rules_dir is not None)
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{folder}: all rules are valid")


@app.command()
def deadline(
    start: Annotated[str, typer.Argument(help="Day 0, as YYYY-MM-DD or an ISO date-time.")],
    working_days: Annotated[int, typer.Option("--working-days", "-n", min=0)],
    closure: Annotated[
        list[str] | None, typer.Option(help="A council closure day (YYYY-MM-DD); repeatable.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the date N working days after START (ISO 8601)."""
    from mailagent.policy.workdays import WorkingCalendar

    settings = settings_from(config)
    try:
        closures = [date.fromisoformat(day) for day in closure or []]
        begin = datetime.fromisoformat(start)
    except ValueError as exc:
        fail(f"not a date: {exc}")
    cal = settings.calendar
    calendar = WorkingCalendar(
        timezone=cal.timezone, closures=[*cal.closures, *closures], cutoff=cal.cutoff,
        working_hours=(cal.working_hours_start, cal.working_hours_end),
    )
    if len(start) > 10:  # a moment: apply the cut-off and the non-working-day rule
        from zoneinfo import ZoneInfo

        moment = begin if begin.tzinfo else begin.replace(tzinfo=ZoneInfo(cal.timezone))
        day0 = calendar.receipt_day(moment)
    else:
        day0 = begin.date()
    typer.echo(calendar.add_working_days(day0, working_days).isoformat())


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="An .eml file ('-' for standard input).")],
    config: ConfigOption = None,
) -> None:
    """Say what one email is, as JSON, without touching the database."""
    from mailagent.mail.inspection import inspect_bytes
    from mailagent.policy.vocabulary import load_vocabulary

    settings = settings_from(config)
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    vocabulary = load_vocabulary(settings.agent.rules_dir)
    typer.echo(json.dumps(inspect_bytes(raw, vocabulary), ensure_ascii=False, indent=2))


@app.command()
def sweep(
    config: ConfigOption = None,
    now: Annotated[
        str | None, typer.Option(help="Pretend it is this ISO date-time (UTC if no zone).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would happen; change nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="With --now: really change the cases, and send.")
    ] = False,
) -> None:
    """Apply every due reminder, escalation and follow-up once."""
    from mailagent.clock import FixedClock, SystemClock
    from mailagent.runners.sweep import sweep as run_sweep

    settings = settings_from(config)
    setup_logging(settings)
    try:
        clock = FixedClock(datetime.fromisoformat(now)) if now else SystemClock()
    except ValueError:
        fail(f"--now: not an ISO date-time: {now}")
    # Steps taken at a pretend time are real (emails to managers, stages moved on): the
    # operator sees them first and says --yes.
    pretend = now is not None and not dry_run and not yes
    agent = open_agent(settings, clock=clock)
    try:
        actions = run_sweep(agent, clock.now(), dry_run=dry_run or pretend)
    finally:
        agent.close()
    for action in actions:
        typer.echo(action)
    if not actions:
        typer.echo("nothing is due")
    elif pretend:
        fail(f"nothing was done: these would change real cases as if it were {now}. "
             "Run again with --yes to do them.")


@app.command()
def purge(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what is due; remove nothing.")
    ] = False,
) -> None:
    """Remove raw mail and case records older than [retention] allows (the daemon runs
    this daily). Export a case to the child's file before its record goes."""
    from mailagent.runners.purge import purge as run_purge

    settings = settings_from(config)
    setup_logging(settings)
    agent = open_agent(settings)
    try:
        report = run_purge(agent, agent.clock.now(), dry_run=dry_run)
    finally:
        agent.close()
    typer.echo(("would remove: " if dry_run else "removed: ") + str(report))


@app.command()
def status(config: ConfigOption = None) -> None:
    """Say what the agent is doing, when it last heard from the mailbox, and what is queued."""
    from mailagent.cli.status import describe_status

    settings = settings_from(config)
    agent = open_agent(settings)
    try:
        typer.echo(describe_status(agent))
    finally:
        agent.close()


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    restrict_umask()  # whatever the shell's umask, what we write holds children's data
    logging.captureWarnings(True)
    app()

