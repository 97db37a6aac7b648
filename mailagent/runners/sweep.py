"""The sweep: every time-driven step (reminders, overdue escalations, breaches), once.

Safe to run at any moment and any number of times: each step changes the case so that it
is no longer due, and its emails carry dedupe keys. After downtime it catches up in one
pass: a stage whose deadline passed while the agent was down times out once.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from sqlmodel import Session, select

from mailagent.app import Agent
from mailagent.cases.kinds import kind_of
from mailagent.store.db import transaction
from mailagent.store.models import Case

log = logging.getLogger(__name__)

# A case can time out at several stages in one catch-up pass; this bounds the loop.
MAX_STEPS_PER_CASE = 20


def sweep(agent: Agent, now: datetime, *, dry_run: bool = False,
          lock: AbstractContextManager[object] | None = None) -> list[str]:
    """Apply (or, with dry_run, list) every step due at `now`; return them in words.

    Only the cases whose `next_due_at` has come are read (an index range), so a sweep with
    nothing due costs one query however many cases are open. `lock`, if given, is held
    for one case at a time, so mail is handled between cases rather than after the sweep.
    """
    done: list[str] = []
    with Session(agent.engine) as session:
        # Sorted here, not by the database: ORDER BY id would have it walk the whole table
        # in id order instead of the index range.
        due_ids = sorted(session.exec(
            select(Case.id).where(Case.next_due_at <= now)  # type: ignore[operator]
        ))
    for case_id in due_ids:
        try:
            with lock or nullcontext():
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
            if case.next_due_at is None or case.next_due_at > now:
                return done  # nothing to look at (any more)
            kind = kind_of(case)
            due = kind.due_steps(agent, case, now)
            if not due:
                if not dry_run:
                    case.next_due_at = kind.next_due_at(agent, case)
                    session.add(case)
                return done
            if dry_run:
                session.rollback()
                return done + [f"{case.ref}: would {kind.describe_due(agent, case, step)}"
                               for step in due]
            done.append(kind.apply_due(session, agent, case, due[0], now))
    log.warning("sweep stopped after %s steps", MAX_STEPS_PER_CASE)
    return done
