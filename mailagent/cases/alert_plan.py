"""The plan made in answer to a collective alert: its actions, their dates and status, and
what is overdue, as the follow-ups, the updates for the boards and the reports show them.

"A more detailed response/resolution or plan outlining what steps or actions are going to
be taken to address the concern raised" (collective alerts protocol). Whoever follows the
alert up, or whoever it was raised with, records each action with `#action <what> by
<date>` and marks it with `#done <number>`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from mailagent.cases.alert_common import alert_of, local_day, short_day
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused
from mailagent.cases.timeline import record
from mailagent.mail.fields import parse_date
from mailagent.store.models import AlertAction, Case

OPEN, DONE = "open", "done"
_BY_DATE = re.compile(r"^(?P<what>.+?)[\s,;.]+(?:by|due|due by)\s*:?\s+(?P<when>[^,;]+?)\.?$",
                      re.IGNORECASE)


def add_action(session: Session, office: Office, case: Case, text: str, now: datetime,
               *, actor: str) -> AlertAction:
    """`#action Weekly joint panel with CAMHS by 29 January 2027`."""
    what, due = _split_due(text)
    if not what:
        raise CaseRefused("#action needs the action, e.g. #action Weekly joint panel with "
                          "CAMHS by 29 January 2027")
    alert = alert_of(case)
    action = AlertAction(alert_id=case.id, number=len(alert.actions) + 1, text=what, due=due,
                         added_at=now, added_by=actor)
    alert.actions.append(action)
    session.add(case)
    session.flush()
    by = f" by {office.calendar.format_day(due)}" if due else " (no date given)"
    record(session, case, "action", now, actor=actor,
           summary=f"Action {action.number} of the plan added{by}", text=what)
    return action


def complete_action(session: Session, case: Case, arg: str, now: datetime, *,
                    actor: str) -> AlertAction:
    """`#done 2`: action 2 of the plan is done."""
    found = re.match(r"\s*(\d+)", arg or "")
    actions = {a.number: a for a in alert_of(case).actions}
    if found is None or int(found.group(1)) not in actions:
        numbers = ", ".join(str(n) for n in actions) or "none yet"
        raise CaseRefused(f"#done needs the number of an action of the plan ({numbers}), "
                          "e.g. #done 2")
    action = actions[int(found.group(1))]
    if action.status == DONE:
        raise CaseRefused(f"action {action.number} is already done")
    action.status, action.done_at, action.done_by = DONE, now, actor
    session.add(action)
    record(session, case, "action_done", now, actor=actor,
           summary=f"Action {action.number} of the plan done")
    return action


def _split_due(text: str) -> tuple[str, date | None]:
    text = " ".join((text or "").split())
    found = _BY_DATE.match(text)
    if found is not None:
        due = parse_date(found["when"])
        if due is not None:
            return found["what"].strip(), due
    return text, None


def plan_lines(office: Office, case: Case, now: datetime) -> list[dict[str, Any]]:
    """Each action with its status in words, as at `now`: done (on a day), due by a day,
    overdue, or not done when the alert was closed."""
    today = local_day(office, now)
    closed = _closed_by(case, now)
    lines = []
    for action in alert_of(case).actions:
        if action.added_at > now:
            continue
        if _done_by(action, now):
            assert action.done_at is not None
            status = f"done {short_day(local_day(office, action.done_at))}"
        elif closed:
            status = "not done" + (f" (was due by {short_day(action.due)})" if action.due else "")
        elif action.due is not None and action.due < today:
            status = f"OVERDUE (due by {short_day(action.due)})"
        elif action.due is not None:
            status = f"due by {short_day(action.due)}"
        else:
            status = "open, no date given"
        lines.append({"number": action.number, "text": action.text, "status": status,
                      "overdue": status.startswith("OVERDUE")})
    return lines


def overdue_words(office: Office, case: Case, now: datetime) -> list[str]:
    """What is overdue on the alert as at `now`, in words: the acknowledgment, the detailed
    response, and each action of the plan past its date (nothing, once it is closed)."""
    alert, today = alert_of(case), local_day(office, now)
    if _closed_by(case, now):
        return []
    found = []
    if alert.ack_due and alert.ack_due < today and not _by(alert.acknowledged_at, now):
        found.append(f"the written acknowledgment (due by {short_day(alert.ack_due)})")
    if alert.response_due and alert.response_due < today and not _by(alert.responded_at, now):
        found.append(f"the detailed response or plan (due by {short_day(alert.response_due)})")
    found += [f"action {a.number}: {a.text} (due by {short_day(a.due)})"
              for a in alert.actions
              if a.added_at <= now and not _done_by(a, now) and a.due and a.due < today]
    return found


def _by(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


def _done_by(action: AlertAction, now: datetime) -> bool:
    return action.status == DONE and _by(action.done_at, now)


def _closed_by(case: Case, now: datetime) -> bool:
    return case.status != "open" and _by(case.closed_at, now)


def plan_facts(office: Office, case: Case, now: datetime) -> dict[str, Any]:
    """What the follow-ups, the board updates and the reports show of the plan."""
    lines = plan_lines(office, case, now)
    return {"actions": lines, "overdue": overdue_words(office, case, now),
            "actions_done": sum(1 for a in alert_of(case).actions if _done_by(a, now))}
