"""What every step of a collective alert shares: its states, the people each step reaches,
what people wrote on it, and what its emails are given.

The steps themselves are in `alert_drafting` (comments, revision, agreement, sharing),
`alert_progress` (raising, replies, follow-ups, updates for the boards) and `alert_plan`
(the plan's actions); `collective` routes email and time to them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from mailagent.cases.notify import email_context
from mailagent.cases.office import Office
from mailagent.cases.recipients import people_for
from mailagent.mail.classify import Classification
from mailagent.mail.quotes import excerpt
from mailagent.policy.directory import Person
from mailagent.store.models import AlertReply, Case, CollectiveAlert

# Where an alert is (`Case.stage_id`) and, within that, what it waits for (`stage_state`).
DRAFT, SHARED, RAISED, RETURNED = "draft", "shared", "raised", "returned"
CONSULTATION, REVISION, AGREEMENT = "consultation", "revision", "agreement"
SHARING, HELD = "sharing", "held"
AWAITING_ACK, AWAITING_RESPONSE, FOLLOWING_UP = "awaiting_ack", "awaiting_response", "following_up"
BEFORE_RAISING = (CONSULTATION, REVISION, AGREEMENT, SHARING, HELD)

# What someone wrote, by the step it answered (`AlertReply.step`).
COMMENT, ACKNOWLEDGMENT, RESPONSE, UPDATE, OTHER = (
    "comment", "acknowledgment", "response", "update", "other")
FROM_RAISED_WITH = (ACKNOWLEDGMENT, RESPONSE, UPDATE)

_SMALL_WORDS = {"of", "and", "for", "the", "to", "in"}


def alert_of(case: Case) -> CollectiveAlert:
    """The alert's own record (made for alerts filed before it existed)."""
    if case.alert is None:
        case.alert = CollectiveAlert()
    return case.alert


# -- people ---------------------------------------------------------------------------


def drafter(office: Office, case: Case) -> list[Person]:
    return people_for(office, case, ["iro"])


def deciders(office: Office, case: Case) -> list[Person]:
    """The IRO Group Manager (the role that agrees)."""
    return people_for(office, case, [office.rules.collective_alert.agreed_by])


def followers(office: Office, case: Case) -> list[Person]:
    """Who follows the alert up: the Group Manager and the Head of Service for S&QA."""
    return people_for(office, case, list(office.rules.collective_alert.followed_up_by))


def consulted(office: Office, case: Case) -> list[Person]:
    """The IRO team asked to comment on the draft, less the IRO who drafted it."""
    found = people_for(office, case, list(office.rules.collective_alert.consulted))
    return [p for p in found if p.email != case.iro_email]


def shared_with(office: Office, case: Case) -> list[Person]:
    return people_for(office, case, list(office.rules.collective_alert.shared_with))


def raised_with(office: Office, case: Case) -> list[Person]:
    """Whom the Group Manager chose to raise it with (none before they chose)."""
    role = alert_of(case).raise_to
    return people_for(office, case, [role]) if role else []


def emails_of(people: list[Person]) -> set[str]:
    return {p.email for p in people}


def relayed_to(to: list[Person], cc: list[Person], author: str | None
               ) -> tuple[list[Person], list[Person]]:
    """Who is sent what `author` wrote: never the author (an auto-responder that does not
    say it is one would answer its own words for ever), nobody twice; if only the copied
    are left, they are the addressees."""
    to = [p for p in to if p.email != author]
    cc = [p for p in cc if p.email != author and p.email not in emails_of(to)]
    return (to, cc) if to else (cc, [])


def greet(people: list[Person]) -> str:
    return " and ".join(p.name for p in people) or "colleague"


def role_label(role: str) -> str:
    """"head_of_service" -> "Head of Service"."""
    words = role.split("_")
    return " ".join(w if i and w in _SMALL_WORDS else w.capitalize() for i, w in enumerate(words))


def person(office: Office, email: str) -> Person:
    return office.directory.person_by_email(email) or Person(name=email, email=email)


# -- what people wrote ----------------------------------------------------------------


def add_reply(session: Session, case: Case, *, author: str, step: str, text: str,
              now: datetime, inbound_id: int | None, followup: int | None = None) -> AlertReply:
    reply = AlertReply(alert_id=case.id, at=now, author=author, step=step, text=text.strip(),
                       followup=followup, inbound_id=inbound_id)
    alert_of(case).replies.append(reply)
    session.add(case)
    session.flush()
    return reply


def latest(case: Case, steps: tuple[str, ...]) -> AlertReply | None:
    found = [r for r in alert_of(case).replies if r.step in steps]
    return found[-1] if found else None


def edit_fields(case: Case, cls: Classification) -> list[str]:
    """Theme/Children/Evidence/Resolution sought/Impact lines in an email change the alert's
    text; returns the labels of what changed."""
    values = {k: v for k, v in cls.fields.values.items() if isinstance(v, str)}
    edits = {
        "theme": values.get("theme"),
        "children": values.get("children") or values.get("child"),
        "evidence": values.get("evidence") or values.get("issue"),
        "action_sought": values.get("resolution_sought"),
        "impact": values.get("impact"),
    }
    changed = {k: v for k, v in edits.items() if v and v != case.fields.get(k)}
    case.fields = {**case.fields, **changed}
    labels = {"theme": "Theme", "children": "Children", "evidence": "Evidence",
              "action_sought": "Action sought", "impact": "Impact"}
    return [labels[k] for k in changed]


# -- dates ----------------------------------------------------------------------------


def weeks_after(office: Office, day: date, weeks: int) -> date:
    """Calendar weeks on; a day that is not a working day moves to the next one."""
    return office.calendar.working_day_on_or_after(day + timedelta(weeks=weeks))


def end_of(office: Office, day: date | None) -> datetime:
    assert day is not None, "the step has its date"
    return office.calendar.end_of_day(day)


def start_of(office: Office, day: date) -> datetime:
    """When working hours begin on `day` (or the next working day)."""
    return datetime.combine(office.calendar.working_day_on_or_after(day),
                            office.calendar.working_hours[0], tzinfo=office.calendar.tz)


def day_text(office: Office, day: date | None) -> str:
    return office.calendar.format_day(day) if day else ""


def short_day(day: date | None) -> str:
    return f"{day:%a} {day.day} {day:%b}" if day else ""


def local_day(office: Office, at: datetime) -> date:
    return at.astimezone(office.calendar.tz).date()


# -- what the emails are given --------------------------------------------------------


def alert_context(office: Office, case: Case, **extra: Any) -> dict[str, Any]:
    """The alert's words and dates, the comments and the replies, for every alert email."""
    f, alert = case.fields, alert_of(case)
    rules = office.rules.collective_alert
    by_step: dict[str, list[dict[str, str]]] = {}
    for reply in alert.replies:
        by_step.setdefault(reply.step, []).append(reply_words(office, reply))
    return email_context(
        office, case,
        case_fields={"theme": f.get("theme"), "children": f.get("children"),
                     "evidence": f.get("evidence"), "action_sought": f.get("action_sought"),
                     "impact": f.get("impact") or ""},
        ack_due_text=day_text(office, alert.ack_due),
        ack_due_short=short_day(alert.ack_due),
        response_due_text=day_text(office, alert.response_due),
        raised_text=day_text(office, alert.raised_on),
        comments_due_text=day_text(office, alert.comments_due),
        comments_due_short=short_day(alert.comments_due),
        raise_on_text=day_text(office, alert.raise_on),
        raise_on_short=short_day(alert.raise_on),
        reply_due_text=day_text(office, alert.followup_reply_due),
        reply_due_short=short_day(alert.followup_reply_due),
        raise_to_label=role_label(alert.raise_to) if alert.raise_to else "",
        raise_choices=" or ".join(role_label(r) for r in rules.raised_with),
        raise_example=role_label(rules.raised_with[0]),
        case_outcome=case.outcome or "",
        group_manager=greet(deciders(office, case)),
        comments=by_step.get(COMMENT, []),
        **extra,
    )


def reply_words(office: Office, reply: AlertReply) -> dict[str, str]:
    local = reply.at.astimezone(office.calendar.tz)
    return {"who": person(office, reply.author).name, "when": f"{short_day(local.date())}",
            "step": reply.step, "text": excerpt(reply.text)}
