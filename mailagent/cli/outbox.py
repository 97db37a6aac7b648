"""`mailagent outbox`: what waits to be sent, what was given up on, and putting it right.

The agent keeps an email the mail server puts off for `[outbox] give_up_after_days`, then
gives it up and tells the case's IRO. Once the cause is fixed (the server is back, the
address corrected), an operator has it tried now (`retry`) or queued again (`requeue`).
Neither sends anything itself: the running agent's next delivery (within a minute) or
`mailagent run --once` does, so two processes never send the same email.
`mailagent.cli.main` adds the commands with `register(app)`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from mailagent.cli.common import fail, open_agent, settings_from
from mailagent.cli.options import ConfigOption
from mailagent.store.delivery import requeue, retry_now, unsent
from mailagent.store.models import Case, Outbound

outbox_app = typer.Typer(help="Email waiting to be sent, or given up on.")

IdsArgument = Annotated[
    list[int] | None, typer.Argument(help="Outbox row ids (the first column of `list`).")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every row it applies to.")]


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


@outbox_app.callback(invoke_without_command=True)
def _list_by_default(ctx: typer.Context) -> None:
    """Email waiting to be sent, or given up on (`list`, `retry`, `requeue`)."""
    if ctx.invoked_subcommand is None:  # `mailagent [--config FILE] outbox`
        config = ctx.find_root().params.get("config") or os.environ.get("MAILAGENT_CONFIG")
        list_outbox(config=Path(config) if config else None)


@outbox_app.command("list")
def list_outbox(
    config: ConfigOption = None,
    everything: Annotated[bool, typer.Option("--all", help="Sent email too.")] = False,
) -> None:
    """One line per email not (wholly) delivered: id, case, purpose, status, tries, when
    queued, next try, and why, with who has not got it."""
    agent = open_agent(settings_from(config))
    try:
        tz = agent.calendar.tz
        with Session(agent.engine) as session:
            rows = unsent(session, everything=everything)
            refs = {row.case_id: _ref(session, row.case_id) for row in rows}
        if not rows:
            typer.echo("the outbox is empty: everything queued was delivered")
            return
        typer.echo(f"{'id':>6}  {'case':<14} {'purpose':<20} {'status':<8} {'tries':>5}  "
                   f"{'queued':<16}  {'next try':<16}  why")
        for row in rows:
            typer.echo(
                f"{row.id:>6}  {refs[row.case_id]:<14} {row.purpose[:20]:<20} {row.status:<8} "
                f"{row.attempts:>5}  {row.queued_since.astimezone(tz):%Y-%m-%d %H:%M}  "
                f"{_next_try(row, tz):<16}  {_why(row)}"
            )
    finally:
        agent.close()


@outbox_app.command("retry")
def retry(ids: IdsArgument = None, every: AllOption = False,
          config: ConfigOption = None) -> None:
    """Try waiting email now, whatever its backoff (after the mail server is back)."""
    chosen = _chosen(ids, every)
    agent = open_agent(settings_from(config))
    try:
        count = retry_now(agent.engine, chosen, agent.clock.now())
    finally:
        agent.close()
    typer.echo(f"{count} email(s) due now; {_WHO_SENDS}")


@outbox_app.command("requeue")
def requeue_failed(ids: IdsArgument = None, every: AllOption = False,
                   config: ConfigOption = None) -> None:
    """Queue again email given up on, for those who did not get it, with a new lifetime."""
    chosen = _chosen(ids, every)
    agent = open_agent(settings_from(config))
    try:
        count = requeue(agent.engine, chosen, agent.clock.now())
    finally:
        agent.close()
    typer.echo(f"{count} email(s) queued again; {_WHO_SENDS}")


_WHO_SENDS = ("the running agent sends them within a minute (or run `mailagent run --once`)")


def _chosen(ids: list[int] | None, every: bool) -> list[int] | None:
    if bool(ids) == every:
        fail("name the outbox rows (ids from `mailagent outbox list`), or give --all")
    return None if every else list(ids or [])


def _ref(session: Session, case_id: int | None) -> str:
    case = session.get(Case, case_id) if case_id is not None else None
    return case.ref if case is not None else "-"


def _next_try(row: Outbound, tz) -> str:  # type: ignore[no-untyped-def]
    if row.status not in ("queued", "sending"):
        return "-"
    return f"{row.not_before.astimezone(tz):%Y-%m-%d %H:%M}"


def _why(row: Outbound) -> str:
    missed = f" (not delivered to {', '.join(row.refused)})" if row.refused else ""
    return f"{(row.last_error or '')[:160]}{missed}"
