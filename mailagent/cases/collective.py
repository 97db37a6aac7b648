"""Collective alerts: a theme seen across many children, raised by the IRO service.

The life of an alert, per `rules/collective-alert.toml` (the Leicestershire and "collective
alerts and good practice" policies):

    draft    an IRO's [COLLECTIVE] email goes to the IRO Group Manager, who replies
             #agree (with edits) or #return (back to the IROs, with a reason)
    raised   agreed: shared with the Head of Service for Safeguarding and QA and raised
             with the relevant Head of Service or Director; a written acknowledgment is due
             within 2 weeks and a detailed response or plan within 4
    answered the first reply from whoever it was raised with acknowledges it, the next is
             the detailed response; then follow-ups every 4 weeks, each also sent to the
             Children's Senior Management Team and the Corporate Parenting Board, until
             #resolved

Escalations stay separate cases: an [ESCALATE] email that names the alert's reference is
linked to it, and the alert lists its linked cases. Themes that recur across open
escalations are suggested for an alert in the daily summary (`suggest_themes`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mailagent.cases import commands
from mailagent.cases.match import Match
from mailagent.cases.notify import email_context, names, people_for, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome, quarantined
from mailagent.cases.recipients import name_of
from mailagent.cases.timeline import next_ref, record, remember_message
from mailagent.mail.classify import Classification
from mailagent.mail.fields import Command
from mailagent.mail.parse import InboundMessage
from mailagent.mail.references import references_for, strip_subject
from mailagent.policy.directory import Person
from mailagent.store.inbound import link_to_case
from mailagent.store.models import Case, CollectiveAlert

DRAFT, RAISED, RETURNED = "draft", "raised", "returned"
AWAITING_ACK, AWAITING_RESPONSE, FOLLOWING_UP = "awaiting_ack", "awaiting_response", "following_up"


# -- opening ------------------------------------------------------------------------------


def on_new_alert(
    session: Session, office: Office, msg: InboundMessage, cls: Classification, now: datetime,
    inbound_id: int,
) -> Outcome:
    """An IRO's draft: file it and send it to the IRO Group Manager for agreement."""
    sender = (msg.from_addr or "").lower()
    values = {k: v for k, v in cls.fields.values.items() if isinstance(v, str)}
    team = office.directory.find_team(values["team"]) if values.get("team") else None
    fields = {
        "theme": values.get("theme") or _theme_from_subject(msg.subject),
        "children": values.get("children") or values.get("child") or "not stated",
        "evidence": values.get("evidence") or values.get("issue") or "",
        "action_sought": values.get("resolution_sought") or "",
        "impact": values.get("impact") or "",
        "category": values.get("category"),
    }
    if not fields["evidence"]:
        return quarantined("collective alert with no Issue or Evidence")
    year = now.astimezone(office.calendar.tz).year
    case = Case(
        ref=next_ref(session, _prefix(office), year), kind="collective_alert",
        status="open",
        team=team, category=fields["category"], iro_email=sender, fields=fields,
        opened_at=now, stage_id=DRAFT, stage_state=DRAFT,
        root_message_id=msg.message_id, alert=CollectiveAlert(),
    )
    session.add(case)
    session.flush()
    remember_message(session, case, msg.message_id, "in")
    link_to_case(session, inbound_id, case.id)
    record(session, case, "drafted", now, actor=sender, inbound_id=inbound_id,
           summary="Collective alert drafted by the IRO")
    rules = office.rules.collective_alert
    managers = people_for(office, case, [rules.agreed_by])
    send(session, office, case, template=rules.templates.draft,
         context=alert_context(office, case, recipient_name=_greet(managers)), to=managers,
         cc=people_for(office, case, ["iro"]), purpose="collective_draft", key="draft",
         now=now)
    return Outcome("processed", case_ref=case.ref, summary=f"drafted {case.ref}")


def _theme_from_subject(subject: str) -> str:
    words = [w for w in strip_subject(subject).split() if not w.startswith(("[", "#"))]
    return " ".join(words) or "collective alert"


# -- emails about an alert ----------------------------------------------------------------


def on_alert_email(
    session: Session, office: Office, case: Case, match: Match, msg: InboundMessage,
    cls: Classification, now: datetime, inbound_id: int,
) -> Outcome:
    """#agree / #return / #resolved from the IRO Group Manager; replies from senior managers."""
    sender = (msg.from_addr or "").lower()
    link_to_case(session, inbound_id, case.id)
    rules = office.rules.collective_alert
    deciders = {p.email for p in people_for(office, case, [rules.agreed_by])}
    for command in cls.commands:
        if sender not in deciders | {case.iro_email}:
            _refuse(session, office, case, command, sender,
                    "only the IRO Group Manager can agree, return or resolve a collective "
                    "alert", now, inbound_id)
        elif command.name == "agree" and case.stage_id == DRAFT and sender in deciders:
            _edit(case, cls)
            raise_alert(session, office, case, now, actor=sender)
        elif command.name == "return" and case.stage_id == DRAFT and sender in deciders:
            _return(session, office, case, now, sender, command.arg)
        elif command.name == "resolved" and case.stage_id == RAISED:
            _resolve(session, office, case, now, sender)
        elif command.name == "note":
            commands.note(session, case, now, actor=sender, text=command.arg or "",
                        inbound_id=inbound_id)
        else:
            state = (case.stage_state or case.status).replace("_", " ")
            _refuse(session, office, case, command, sender,
                    f"#{command.name} does not apply to a collective alert that is {state}",
                    now, inbound_id)
    if cls.commands:
        return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: commands")
    return _on_reply(session, office, case, sender, now, inbound_id)


def _refuse(session: Session, office: Office, case: Case, command: Command, sender: str,
            reason: str, now: datetime, inbound_id: int) -> None:
    record(session, case, "refused", now, actor=sender, inbound_id=inbound_id,
           summary=f"#{command.name} refused: {reason}")
    person = office.directory.person_by_email(sender) or Person(name=sender, email=sender)
    context = alert_context(office, case, sender_name=person.name, reason=reason,
                            command=f"#{command.name}")
    send(session, office, case, template="command_refused", context=context, to=[person],
         purpose="command_refused", key=f"refused:{inbound_id}:{command.name}", now=now,
         automated=True)


def _on_reply(session: Session, office: Office, case: Case, sender: str, now: datetime,
              inbound_id: int) -> Outcome:
    raised_with = {p.email for p in _raised_with(office, case)}
    name = name_of(office, sender)
    if case.stage_id == RAISED and sender in raised_with:
        alert = alert_of(case)
        if case.stage_state == AWAITING_ACK:
            case.stage_state = AWAITING_RESPONSE
            alert.acknowledged_at = now
            what = f"Written acknowledgment from {name}"
        elif case.stage_state == AWAITING_RESPONSE:
            case.stage_state = FOLLOWING_UP
            alert.responded_at = now
            what = f"Detailed response from {name}"
        else:
            what = f"Progress update from {name}"
        session.add(case)
        record(session, case, "response", now, actor=sender, inbound_id=inbound_id,
               summary=what)
        return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: {what.lower()}")
    record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
           summary=f"Email from {name}")
    return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: recorded reply")


def _edit(case: Case, cls: Classification) -> None:
    """The Group Manager's #agree may carry edited Theme/Evidence/Action lines."""
    values = {k: v for k, v in cls.fields.values.items() if isinstance(v, str)}
    edits = {
        "theme": values.get("theme"),
        "evidence": values.get("evidence") or values.get("issue"),
        "action_sought": values.get("resolution_sought"),
        "children": values.get("children"),
    }
    case.fields = {**case.fields, **{k: v for k, v in edits.items() if v}}


def raise_alert(session: Session, office: Office, case: Case, now: datetime, *, actor: str) -> None:
    """Agreed: share it and raise it, and start the 2- and 4-week clocks."""
    rules = office.rules.collective_alert
    sending = office.calendar.next_sending_time(now)
    raised_day = sending.astimezone(office.calendar.tz).date()
    ack_due = _weeks_after(office, raised_day, rules.acknowledge_weeks)
    response_due = _weeks_after(office, raised_day, rules.response_weeks)
    case.stage_id, case.stage_state = RAISED, AWAITING_ACK
    case.stage_started_at = sending
    case.stage_deadline = office.calendar.end_of_day(ack_due)
    alert = alert_of(case)
    alert.raised_on, alert.ack_due, alert.response_due = raised_day, ack_due, response_due
    alert.agreed_by = actor
    session.add(case)
    to = _raised_with(office, case)
    to_emails = {p.email for p in to}
    cc = [p for p in people_for(office, case, [*rules.shared_with, rules.agreed_by, "iro"])
          if p.email not in to_emails]
    record(session, case, "raised", now, actor=actor,
           summary=f"Agreed and raised with {names(to)}", to=sorted(to_emails))
    send(session, office, case, template=rules.templates.raised,
         context=alert_context(office, case, recipient_name=_greet(to)), to=to, cc=cc,
         purpose="collective_raised", key="raised", now=now, working_hours=True)


def _return(session: Session, office: Office, case: Case, now: datetime, actor: str,
            reason: str | None) -> None:
    case.stage_id = case.stage_state = RETURNED
    case.status, case.closed_at = "returned", now
    session.add(case)
    record(session, case, "returned", now, actor=actor,
           summary="Returned to the IROs" + (f": {reason}" if reason else ""))
    iro = people_for(office, case, ["iro"])
    context = alert_context(office, case, recipient_name=_greet(iro),
                            what_overdue="agreement", due_text="(returned)")
    context["reason"] = reason or "no reason given"
    send(session, office, case, template="collective_returned", context=context, to=iro,
         purpose="collective_returned", key="returned", now=now, automated=True)


def _resolve(session: Session, office: Office, case: Case, now: datetime, actor: str) -> None:
    case.status, case.closed_at, case.stage_state = "resolved", now, None
    session.add(case)
    record(session, case, "resolved", now, actor=actor,
           summary="Collective alert resolved")


# -- time ---------------------------------------------------------------------------------


def due_steps(office: Office, case: Case, now: datetime) -> list[str]:
    """The alert's timers that have run out at `now` and not yet been acted on."""
    if case.status != "open" or case.stage_id != RAISED:
        return []
    alert = alert_of(case)
    steps = []
    if case.stage_state == AWAITING_ACK and alert.ack_overdue_at is None and now >= _end(
            office, alert.ack_due):
        steps.append("ack_overdue")
    if case.stage_state in (AWAITING_ACK, AWAITING_RESPONSE) and (
            alert.response_overdue_at is None) and now >= _end(office, alert.response_due):
        steps.append("response_overdue")
    if now >= next_followup_at(office, case):
        steps.append("followup")
    return steps


def next_followup_at(office: Office, case: Case) -> datetime:
    """Follow-up n is due n x 4 weeks after the detailed response was due."""
    rules = office.rules.collective_alert
    alert = alert_of(case)
    n = alert.followups + 1
    due = alert.response_due + timedelta(
        weeks=n * rules.followup_every_weeks)
    start = datetime.combine(office.calendar.working_day_on_or_after(due),
                             office.calendar.working_hours[0], tzinfo=office.calendar.tz)
    return start


def apply_due(session: Session, office: Office, case: Case, step: str, now: datetime) -> str:
    rules = office.rules.collective_alert
    chasers = people_for(office, case, list(rules.followed_up_by))
    if step in ("ack_overdue", "response_overdue"):
        what = "written acknowledgment" if step == "ack_overdue" else "detailed response"
        alert = alert_of(case)
        if step == "ack_overdue":
            alert.ack_overdue_at, due = now, alert.ack_due
        else:
            alert.response_overdue_at, due = now, alert.response_due
        session.add(case)
        record(session, case, step, now, summary=f"{what.capitalize()} overdue")
        due_text = office.calendar.format_day(due)
        send(session, office, case, template=rules.templates.overdue,
             context=alert_context(office, case, recipient_name=_greet(chasers),
                                   what_overdue=what, due_text=due_text),
             to=chasers, cc=people_for(office, case, ["iro"]), purpose=step, key=step, now=now,
             working_hours=True, automated=True)
        return f"{case.ref}: {what} overdue; {names(chasers)} told"
    if step == "followup":
        alert = alert_of(case)
        alert.followups = n = alert.followups + 1
        session.add(case)
        to = _raised_with(office, case)
        cc = chasers + people_for(office, case, list(rules.updates_to))
        record(session, case, "followup", now,
               summary=f"Follow-up {n} sent; noted for CSMT and the Corporate "
                              "Parenting Board")
        raised = office.calendar.format_day(alert.raised_on)
        send(session, office, case, template=rules.templates.followup,
             context=alert_context(office, case, recipient_name=_greet(to), followup_number=n,
                                   raised_text=raised),
             to=to, cc=cc, purpose="collective_followup", key=f"followup:{n}", now=now,
             working_hours=True)
        return f"{case.ref}: follow-up {n} sent"
    raise ValueError(f"unknown step {step!r}")


def alert_context(office: Office, case: Case, **extra: Any) -> dict[str, Any]:
    f = case.fields
    return email_context(
        office, case,
        case_fields={"theme": f.get("theme"), "children": f.get("children"),
              "evidence": f.get("evidence"), "action_sought": f.get("action_sought")},
        ack_due_text=_day_text(office, alert_of(case).ack_due),
        response_due_text=_day_text(office, alert_of(case).response_due),
        **extra,
    )


# -- helpers ------------------------------------------------------------------------------


def _raised_with(office: Office, case: Case) -> list[Person]:
    return people_for(office, case, list(office.rules.collective_alert.raised_with))


def _weeks_after(office: Office, day: date, weeks: int) -> date:
    return office.calendar.working_day_on_or_after(day + timedelta(weeks=weeks))


def _end(office: Office, day: date | None) -> datetime:
    assert day is not None, "a raised alert has its dates"
    return office.calendar.end_of_day(day)


def _day_text(office: Office, day: date | None) -> str:
    return office.calendar.format_day(day) if day else ""


def alert_of(case: Case) -> CollectiveAlert:
    """The alert's own clock (made for alerts filed before it existed)."""
    if case.alert is None:
        case.alert = CollectiveAlert()
    return case.alert


def _greet(people: list[Person]) -> str:
    return " and ".join(p.name for p in people) or "colleague"


def _prefix(office: Office) -> str:
    return office.vocabulary.tags["collective_alert"].ref_prefix


def _name(office: Office, email: str) -> str:
    person = office.directory.person_by_email(email)
    return person.name if person else email


def link_if_named(session: Session, office: Office, case: Case, text: str) -> Case | None:
    """Link an escalation to the open collective alert whose reference its email names."""
    for ref, _prefix in references_for(office.vocabulary.ref_prefixes).find_all(text):
        alert = session.exec(select(Case).where(Case.ref == ref,
                                                Case.kind == "collective_alert")).first()
        if alert is not None:
            case.linked_ref = alert.ref
            session.add(case)
            record(session, case, "linked", case.opened_at,
                   summary=f"Linked to collective alert {alert.ref}")
            record(session, alert, "linked", case.opened_at,
                   summary=f"Escalation {case.ref} linked")
            return alert
    return None
