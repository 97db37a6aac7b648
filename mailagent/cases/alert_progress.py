"""A collective alert once raised: the acknowledgment and the detailed response, passed to
those who follow it up; the 4-weekly follow-ups; the updates for the Children's Senior
Management Team and the Corporate Parenting Board; overdue notices; resolution.

"The timeframe for an initial written response/acknowledgement should be two weeks and ...
a more detailed response/resolution or plan ... within four weeks of it being raised. The
IRO Group Manager, and where appropriate the Safeguarding and Quality Assurance Head of
Service, will follow up on progress being made at four weekly intervals and updates
presented to Children's Senior Management Team and Corporate Parenting Board until an agreed
resolution has been reached." (collective alerts protocol)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from mailagent.cases.alert_common import (
    ACKNOWLEDGMENT,
    AGREEMENT,
    AWAITING_ACK,
    AWAITING_RESPONSE,
    DRAFT,
    FOLLOWING_UP,
    FROM_RAISED_WITH,
    RAISED,
    RESPONSE,
    UPDATE,
    add_reply,
    alert_context,
    alert_of,
    day_text,
    deciders,
    drafter,
    emails_of,
    followers,
    greet,
    latest,
    local_day,
    person,
    raised_with,
    relayed_to,
    reply_words,
    role_label,
    start_of,
    weeks_after,
)
from mailagent.cases.alert_plan import plan_facts
from mailagent.cases.notify import send
from mailagent.cases.office import Office
from mailagent.cases.recipients import names, people_for
from mailagent.cases.timeline import record
from mailagent.mail.quotes import excerpt
from mailagent.store.models import AlertReply, Case

_WHAT = {ACKNOWLEDGMENT: "Written acknowledgment", RESPONSE: "Detailed response",
         UPDATE: "Progress update"}


def raise_alert(session: Session, office: Office, case: Case, now: datetime, *,
                actor: str | None) -> str:
    """Raised with the one the Group Manager chose; the 2- and 4-week clocks start."""
    rules = office.rules.collective_alert
    to = raised_with(office, case)
    if not to:
        # Whoever was chosen is away with no deputy: the Group Manager decides again.
        case.stage_id, case.stage_state = DRAFT, AGREEMENT
        session.add(case)
        record(session, case, "unaddressed", now, summary="Not raised: no one holds the "
               f"{role_label(alert_of(case).raise_to or '')} role now")
        tell(session, office, case, deciders(office, case), [], now, key="unaddressed",
             why="unaddressed", author=None, reply_text="")
        return f"{case.ref}: not raised, no one to raise it with"
    sending = office.calendar.next_sending_time(now)
    raised_day = local_day(office, sending)
    alert = alert_of(case)
    alert.raised_on = raised_day
    alert.ack_due = weeks_after(office, raised_day, rules.acknowledge_weeks)
    alert.response_due = weeks_after(office, raised_day, rules.response_weeks)
    case.stage_id, case.stage_state = RAISED, AWAITING_ACK
    case.stage_started_at = sending
    case.stage_deadline = office.calendar.end_of_day(alert.ack_due)
    session.add(case)
    cc = [p for p in followers(office, case) + drafter(office, case)
          if p.email not in emails_of(to)]
    record(session, case, "raised", now, actor=actor,
           summary=f"Raised with {names(to)}: acknowledgment due by end of "
                   f"{day_text(office, alert.ack_due)}, detailed response or plan by end of "
                   f"{day_text(office, alert.response_due)}",
           to=sorted(emails_of(to)), cc=sorted(emails_of(cc)))
    send(session, office, case, template=rules.templates.raised,
         context=alert_context(office, case, recipient_name=greet(to)), to=to, cc=cc,
         purpose="collective_raised", key="raised", now=now, working_hours=True)
    return f"{case.ref}: raised with {names(to)}"


def on_raised_reply(session: Session, office: Office, case: Case, sender: str, text: str,
                    now: datetime, inbound_id: int) -> str:
    """Whoever it was raised with wrote: the first email acknowledges it, the next is the
    detailed response, later ones are progress updates. Each is passed to those who follow
    it up; a reply to a follow-up also makes that follow-up's update for the boards."""
    alert = alert_of(case)
    if case.stage_state == AWAITING_ACK:
        step, case.stage_state, alert.acknowledged_at = ACKNOWLEDGMENT, AWAITING_RESPONSE, now
        case.stage_deadline = office.calendar.end_of_day(alert.response_due)
    elif case.stage_state == AWAITING_RESPONSE:
        step, case.stage_state, alert.responded_at = RESPONSE, FOLLOWING_UP, now
        case.stage_deadline = None
    else:
        step = UPDATE
    answers = alert.followups if alert.followups > alert.board_updates else None
    reply = add_reply(session, case, author=sender, step=step, text=text, now=now,
                      inbound_id=inbound_id, followup=answers)
    name = person(office, sender).name
    what = _WHAT[step] + (f" (reply to follow-up {answers})" if answers else "")
    record(session, case, step, now, actor=sender, inbound_id=inbound_id,
           summary=f"{what} from {name}; passed to {names(followers(office, case))}")
    tell(session, office, case, followers(office, case), drafter(office, case), now,
         key=f"reply:{inbound_id}", why=step, author=sender, reply_text=excerpt(text, 4000))
    if answers:
        board_update(session, office, case, now, reply=reply)
    return f"{case.ref}: {what.lower()} from {name}"


def tell(session: Session, office: Office, case: Case, to: list, cc: list, now: datetime,
         *, key: str, why: str, author: str | None, reply_text: str,
         with_plan: bool = True) -> None:
    """Pass on what `author` wrote about the alert (or, with no author, why it waits)."""
    to, cc = relayed_to(to, cc, author)
    if not to:
        return
    send(session, office, case, template=office.rules.collective_alert.templates.reply,
         context=alert_context(office, case, recipient_name=greet(to), why=why,
                               author_name=person(office, author).name if author else "",
                               reply_text=reply_text,
                               plan=plan_facts(office, case, now) if with_plan else None),
         to=to, cc=cc, purpose="collective_reply", key=key, now=now, automated=True)


# -- time -----------------------------------------------------------------------------


def due_steps(office: Office, case: Case, now: datetime) -> list[str]:
    """The raised alert's timers that have run out at `now` and not yet been acted on."""
    alert = alert_of(case)
    steps = []
    if case.stage_state == AWAITING_ACK and alert.ack_overdue_at is None and (
            now >= office.calendar.end_of_day(alert.ack_due)):
        steps.append("ack_overdue")
    if case.stage_state in (AWAITING_ACK, AWAITING_RESPONSE) and (
            alert.response_overdue_at is None) and now >= office.calendar.end_of_day(
            alert.response_due):
        steps.append("response_overdue")
    if alert.followups > alert.board_updates and alert.followup_reply_due and (
            now >= office.calendar.end_of_day(alert.followup_reply_due)):
        steps.append("board_update")
    if now >= next_followup_at(office, case):
        steps.append("followup")
    return steps


def next_followup_at(office: Office, case: Case) -> datetime:
    """Follow-up n is due n x 4 weeks after the detailed response was due."""
    rules = office.rules.collective_alert
    alert = alert_of(case)
    assert alert.response_due is not None, "a raised alert has its dates"
    due = alert.response_due + timedelta(weeks=(alert.followups + 1) * rules.followup_every_weeks)
    return start_of(office, due)


def overdue(session: Session, office: Office, case: Case, step: str, now: datetime) -> str:
    """No acknowledgment (or no detailed response) by its date: those who follow the alert
    up are told, the drafting IRO copied."""
    rules = office.rules.collective_alert
    alert = alert_of(case)
    what = "written acknowledgment" if step == "ack_overdue" else "detailed response"
    if step == "ack_overdue":
        alert.ack_overdue_at, due = now, alert.ack_due
    else:
        alert.response_overdue_at, due = now, alert.response_due
    session.add(case)
    record(session, case, step, now, summary=f"{what.capitalize()} overdue")
    chasers = followers(office, case)
    send(session, office, case, template=rules.templates.overdue,
         context=alert_context(office, case, recipient_name=greet(chasers),
                               what_overdue=what, due_text=day_text(office, due),
                               raised_with_names=names(raised_with(office, case))),
         to=chasers, cc=drafter(office, case), purpose=step, key=step, now=now,
         working_hours=True, automated=True)
    return f"{case.ref}: {what} overdue; {names(chasers)} told"


def follow_up(session: Session, office: Office, case: Case, now: datetime) -> str:
    """Follow-up n: whoever it was raised with is asked for progress, shown the latest
    response, the plan's actions and what is overdue; those who follow it up are copied."""
    rules = office.rules.collective_alert
    alert = alert_of(case)
    alert.followups = n = alert.followups + 1
    day = local_day(office, office.calendar.next_sending_time(now))
    alert.followup_reply_due = office.calendar.add_working_days(
        day, rules.followup_reply_working_days)
    session.add(case)
    to = raised_with(office, case)
    cc = [p for p in followers(office, case) if p.email not in emails_of(to)]
    record(session, case, "followup", now,
           summary=f"Follow-up {n} sent to {names(to)}: progress asked for by end of "
                   f"{day_text(office, alert.followup_reply_due)}")
    send(session, office, case, template=rules.templates.followup,
         context=progress_context(office, case, now, recipient_name=greet(to),
                                  followup_number=n,
                                  followed_by=greet(followers(office, case))),
         to=to, cc=cc, purpose="collective_followup", key=f"followup:{n}", now=now,
         working_hours=True)
    return f"{case.ref}: follow-up {n} sent"


def board_update(session: Session, office: Office, case: Case, now: datetime, *,
                 reply: AlertReply | None = None, final: bool = False) -> str:
    """The update for CSMT and the Corporate Parenting Board: for the latest follow-up, made
    from its reply (or from its absence), or the last one, when the alert is resolved."""
    rules = office.rules.collective_alert
    alert = alert_of(case)
    n = alert.followups
    if not final:
        alert.board_updates = n
    session.add(case)
    boards = people_for(office, case, list(rules.updates_to))
    if not boards:
        return f"{case.ref}: no one to send updates to"
    if final:
        source = "on its resolution"
    elif reply is not None:
        source = f"from {person(office, reply.author).name}'s reply to follow-up {n}"
    else:
        source = (f"no reply to follow-up {n} by end of "
                  f"{day_text(office, alert.followup_reply_due)}")
    record(session, case, "board_update", now,
           summary=f"Update for CSMT and the Corporate Parenting Board ({source})",
           to=sorted(emails_of(boards)))
    send(session, office, case, template=rules.templates.board_update,
         context=progress_context(
             office, case, now, recipient_name=greet(boards), final=final, followup_number=n,
             this_reply=reply_words(office, reply) if reply else None,
             # the reply to this follow-up is shown as such, not again as the latest
             **({"latest_reply": None} if reply else {})),
         to=boards, cc=[p for p in followers(office, case) if p.email not in emails_of(boards)],
         purpose="collective_board_update", key="update:final" if final else f"update:{n}",
         now=now, working_hours=True, automated=True)
    return f"{case.ref}: update {n} for the boards ({source})"


def resolve(session: Session, office: Office, case: Case, now: datetime, *, actor: str,
            outcome: str | None) -> None:
    """`#resolved`: an agreed resolution has been reached; whoever it was raised with, those
    who follow it up and the drafting IRO are told, and the boards have the last update."""
    rules = office.rules.collective_alert
    case.status, case.closed_at, case.stage_state, case.stage_deadline = (
        "resolved", now, None, None)
    case.outcome = outcome or case.outcome
    session.add(case)
    record(session, case, "resolved", now, actor=actor,
           summary=f"Collective alert resolved ({person(office, actor).name})",
           **({"text": outcome} if outcome else {}))
    to = raised_with(office, case)
    cc = [p for p in followers(office, case) + drafter(office, case)
          if p.email not in emails_of(to)]
    send(session, office, case, template=rules.templates.resolved,
         context=progress_context(office, case, now, recipient_name=greet(to),
                                  resolved_by=person(office, actor).name),
         to=to, cc=cc, purpose="collective_resolved", key="resolved", now=now,
         working_hours=True, automated=True)
    board_update(session, office, case, now, final=True)


def progress_context(office: Office, case: Case, now: datetime, **extra: Any) -> dict[str, Any]:
    """Where the raised alert stands: the latest response, the plan, what is overdue."""
    alert = alert_of(case)
    last = latest(case, FROM_RAISED_WITH)
    facts: dict[str, Any] = {
        "raised_with_names": names(raised_with(office, case)),
        "acknowledged_text": day_text(office, local_day(office, alert.acknowledged_at))
        if alert.acknowledged_at else "",
        "responded_text": day_text(office, local_day(office, alert.responded_at))
        if alert.responded_at else "",
        "latest_reply": reply_words(office, last) if last else None,
        "plan": plan_facts(office, case, now),
        "next_followup_text": day_text(office, local_day(office, next_followup_at(office, case)))
        if case.status == "open" else "",
    }
    return alert_context(office, case, **{**facts, **extra})
