"""The sweep: every time-driven step (reminders, overdue escalations, breaches), once.

Safe to run at any moment and any number of times: each step changes the case so that it
is no longer due, and its emails carry dedupe keys. After downtime it catches up in one
pass: a stage whose deadline passed while the agent was down times out once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from mailagent import cases, engine
from mailagent.app import Agent
from mailagent.models import Case
from mailagent.store import transaction

log = logging.getLogger(__name__)

# A case can time out at several stages in one catch-up pass; this bounds the loop.
MAX_STEPS_PER_CASE = 20


def sweep(agent: Agent, now: datetime, *, dry_run: bool = False) -> list[str]:
    """Apply (or, with dry_run, list) every step due at `now`; return them in words."""
    done: list[str] = []
    with Session(agent.engine) as session:
        open_ids = session.exec(
            select(Case.id).where(Case.status == "open", Case.stage_id.is_not(None))  # type: ignore[union-attr]
        ).all()
    for case_id in open_ids:
        try:
            done += _sweep_case(agent, case_id, now, dry_run)
        except Exception:  # one broken case (a bad template, say) must not hold up the rest
            log.exception("sweep: case %s skipped", case_id, extra={"case_id": case_id})
    return done


def _sweep_case(agent: Agent, case_id: int, now: datetime, dry_run: bool) -> list[str]:
    done: list[str] = []
    for _ in range(MAX_STEPS_PER_CASE):
        with transaction(agent.engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            due = due_steps(agent, case, now)
            if not due:
                return done
            if dry_run:
                session.rollback()
                return done + [f"{case.ref}: would {_would(agent, case, step)}" for step in due]
            if case.kind == "collective_alert":
                from mailagent import collective

                done.append(collective.apply_due(session, agent, case, due[0], now))
            else:
                done.append(engine.apply_due(session, agent, case, due[0], now))
    log.warning("sweep stopped after %s steps", MAX_STEPS_PER_CASE)
    return done


def _would(agent: Agent, case: Case, step: str) -> str:
    """What a due step would do, in words, for --dry-run."""
    if case.kind == "collective_alert":
        return step.replace("_", " ")
    ladder = engine.ladder_of(agent, case)
    stage = ladder.stage(case.stage_id or ladder.first_stage.id)
    following = ladder.next_stage(stage.id)
    if step == "timeout" and stage.on_timeout == "escalate" and following is not None:
        return f"escalate from {stage.name} to {following.name} (no response by the deadline)"
    return {
        "timeout": f"tell the IRO and their manager: no response at {stage.name}",
        "reminder": f"remind {stage.name} that a response is due",
        "decision_reminder": "remind the IRO to decide",
        "process_breach": "flag the whole-process limit as passed",
    }.get(step, step.replace("_", " "))


def due_steps(agent: Agent, case: Case, now: datetime) -> list[str]:
    if case.kind == "collective_alert":
        from mailagent import collective

        return collective.due_steps(agent, case, now)
    ladder = engine.ladder_of(agent, case)
    clock = cases.CaseClock(
        status=case.status,
        stage_state=case.stage_state,
        stage_started_at=case.stage_started_at,
        stage_deadline=case.stage_deadline,
        decision_due=case.decision_due,
        process_deadline=case.process_deadline,
        process_breach_flagged=bool(case.extra.get("process_breach_flagged")),
    )
    steps = cases.due_now(clock, ladder, agent.calendar, now)
    # A reminder already queued for this deadline is not due again.
    if "reminder" in steps and case.extra.get("reminded") == engine.reminder_mark(case):
        steps.remove("reminder")
    return steps
