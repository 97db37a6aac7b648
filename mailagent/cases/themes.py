"""Themes across children: open escalations that recur often enough to suggest a collective
alert, and the open alerts with their timers, as the daily summary lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mailagent.cases.alert_common import RAISED, alert_of, day_text
from mailagent.cases.alert_plan import overdue_words
from mailagent.cases.collective import STATE_WORDS, next_followup_at
from mailagent.cases.office import Office
from mailagent.store.models import Case


@dataclass(frozen=True)
class ThemeSuggestion:
    team: str
    category: str
    case_refs: tuple[str, ...]


def suggest_themes(session: Session, office: Office, now: datetime) -> list[ThemeSuggestion]:
    """Open escalations of one category in one team, often enough to suggest an alert."""
    rule = office.rules.collective_alert.suggest
    since = now - timedelta(weeks=rule.within_weeks)
    cases = session.exec(
        select(Case.team, Case.category, Case.ref).where(
            Case.kind.in_(("escalation", "challenge")),  # type: ignore[attr-defined]
            Case.status == "open", Case.opened_at >= since,
            Case.linked_ref.is_(None))  # type: ignore[union-attr]
    )
    groups: dict[tuple[str, str], list[str]] = {}
    for team, category, ref in cases:
        if team and category:
            groups.setdefault((team, category), []).append(ref)
    return [ThemeSuggestion(team, category, tuple(sorted(refs)))
            for (team, category), refs in sorted(groups.items())
            if len(refs) >= rule.min_cases]


def open_alerts(session: Session, office: Office, now: datetime) -> list[dict[str, Any]]:
    """Every open alert with where it stands and its timers, for the daily summary."""
    alerts = session.exec(
        select(Case).where(Case.kind == "collective_alert", Case.status == "open")
        .order_by(Case.id)
    ).all()
    out = []
    for case in alerts:
        linked = linked_cases(session, case)
        alert = alert_of(case)
        row: dict[str, Any] = {"ref": case.ref, "theme": case.fields.get("theme"),
                               "state": case.stage_state,
                               "state_words": STATE_WORDS.get(case.stage_state or "", ""),
                               "linked": [c.ref for c in linked]}
        if alert.comments_due and case.stage_state == "consultation":
            row["comments_due"] = alert.comments_due.isoformat()
        if alert.raise_on and case.stage_state == "sharing":
            row["raise_on"] = alert.raise_on.isoformat()
        if case.stage_id == RAISED:
            overdue = {"ack_overdue": alert.ack_overdue_at,
                       "response_overdue": alert.response_overdue_at}
            row.update(ack_due=alert.ack_due.isoformat() if alert.ack_due else None,
                       response_due=alert.response_due.isoformat() if alert.response_due else None,
                       next_followup=next_followup_at(office, case).date().isoformat(),
                       overdue=[k for k, at in overdue.items() if at],
                       overdue_words=overdue_words(office, case, now),
                       raised_text=day_text(office, alert.raised_on))
        out.append(row)
    return out


def linked_cases(session: Session, alert: Case) -> list[Case]:
    return list(session.exec(select(Case).where(Case.linked_ref == alert.ref)
                             .order_by(Case.id)))
