"""Collective alerts: a theme seen across many children, raised by the IRO service.

The life of an alert, per `rules/collective-alert.toml` (the "collective alerts and good
practice" protocol):

    draft     an IRO's [COLLECTIVE] email goes to the IRO team for comment; when the time
              for comments ends the drafting IRO has them, revises and sends #revised; the
              IRO Group Manager is then asked to agree it (#agree naming the Head of Service
              or the Director it is raised with) or to #return it
    shared    agreed: shared with the Head of Service for Safeguarding and QA, and raised a
              few working days later (sooner with #raise; if they comment, when the Group
              Manager says #raise)
    raised    a written acknowledgment is due within 2 weeks and a detailed response or plan
              within 4; every reply is passed to the Group Manager and the Head of Service
              for S&QA; the plan's actions are recorded (#action, #done); every 4 weeks a
              follow-up asks for progress, and an update for the Children's Senior
              Management Team and the Corporate Parenting Board is made from the reply;
              until #resolved

This module routes email and time to the steps (`alert_drafting`, `alert_progress`,
`alert_plan`). Escalations stay separate cases: an [ESCALATE] email that names the alert's
reference is linked to it, and the alert lists its linked cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from mailagent.cases import alert_drafting, alert_plan, alert_progress, answers, commands
from mailagent.cases.alert_common import (
    AGREEMENT,
    AWAITING_ACK,
    AWAITING_RESPONSE,
    BEFORE_RAISING,
    CONSULTATION,
    DRAFT,
    FOLLOWING_UP,
    HELD,
    OTHER,
    RAISED,
    REVISION,
    SHARING,
    add_reply,
    alert_context,
    alert_of,
    consulted,
    day_text,
    deciders,
    edit_fields,
    emails_of,
    followers,
    person,
    raised_with,
    shared_with,
    start_of,
)
from mailagent.cases.match import Match
from mailagent.cases.notify import send
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused, Outcome, quarantined
from mailagent.cases.timeline import next_ref, record, remember_message
from mailagent.mail.classify import Classification
from mailagent.mail.fields import Command
from mailagent.mail.parse import InboundMessage
from mailagent.mail.references import references_for, strip_subject
from mailagent.store.inbound import link_to_case
from mailagent.store.models import Case, CollectiveAlert

RAISED_STATES = (AWAITING_ACK, AWAITING_RESPONSE, FOLLOWING_UP)
STATE_WORDS = {
    CONSULTATION: "out to the IRO team for comment",
    REVISION: "with the drafting IRO to revise after comments",
    AGREEMENT: "waiting for the IRO Group Manager's agreement",
    SHARING: "agreed and shared with the Head of Service for Safeguarding and QA before "
             "it is raised",
    HELD: "agreed; raising waits for the IRO Group Manager after a comment",
    AWAITING_ACK: "raised; waiting for a written acknowledgment",
    AWAITING_RESPONSE: "acknowledged; waiting for the detailed response or plan",
    FOLLOWING_UP: "answered; followed up every 4 weeks",
}


# -- opening ------------------------------------------------------------------------------


def on_new_alert(
    session: Session, office: Office, msg: InboundMessage, cls: Classification, now: datetime,
    inbound_id: int,
) -> Outcome:
    """An IRO's draft: filed, then sent to the IRO team for comment."""
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
        ref=next_ref(session, _prefix(office), year), kind="collective_alert", status="open",
        team=team, category=fields["category"], iro_email=sender, fields=fields,
        opened_at=now, stage_id=DRAFT, stage_state=CONSULTATION,
        root_message_id=msg.message_id, alert=CollectiveAlert(),
    )
    session.add(case)
    session.flush()
    remember_message(session, case, msg.message_id, "in")
    link_to_case(session, inbound_id, case.id)
    record(session, case, "drafted", now, actor=sender, inbound_id=inbound_id,
           summary="Collective alert drafted by the IRO")
    alert_drafting.consult(session, office, case, now)
    return Outcome("processed", case_ref=case.ref, summary=f"drafted {case.ref}")


def _theme_from_subject(subject: str) -> str:
    words = [w for w in strip_subject(subject).split() if not w.startswith(("[", "#"))]
    return " ".join(words) or "collective alert"


# -- emails about an alert ----------------------------------------------------------------


@dataclass(frozen=True)
class _CommandRule:
    """Who may use a command on an alert, in which states, and what it does."""

    who: Callable[[Office, Case], set[str]]
    who_words: str
    states: tuple[str, ...]
    run: Callable[[Session, Office, Case, Classification, Command, str, datetime, int], None]


def _drafting_iro(office: Office, case: Case) -> set[str]:
    return {case.iro_email} | emails_of(deciders(office, case))


def _managers(office: Office, case: Case) -> set[str]:
    return emails_of(deciders(office, case))


def _followers(office: Office, case: Case) -> set[str]:
    return emails_of(deciders(office, case)) | emails_of(followers(office, case))


def _plan_owners(office: Office, case: Case) -> set[str]:
    return _followers(office, case) | emails_of(raised_with(office, case))


def _everyone(office: Office, case: Case) -> set[str]:
    return _plan_owners(office, case) | {case.iro_email}


_COMMANDS: dict[str, _CommandRule] = {
    "revised": _CommandRule(
        _drafting_iro, "the IRO who drafted it", (CONSULTATION, REVISION),
        lambda s, o, c, cls, cmd, who, now, i: alert_drafting.revise(s, o, c, cls, now,
                                                                     actor=who)),
    "agree": _CommandRule(
        _managers, "the IRO Group Manager", (AGREEMENT,),
        lambda s, o, c, cls, cmd, who, now, i: alert_drafting.agree(s, o, c, cls, cmd.arg or "",
                                                                    now, actor=who)),
    "return": _CommandRule(
        _managers, "the IRO Group Manager", BEFORE_RAISING,
        lambda s, o, c, cls, cmd, who, now, i: alert_drafting.return_to_iros(
            s, o, c, now, actor=who, reason=cmd.arg)),
    "raise": _CommandRule(
        _managers, "the IRO Group Manager", (SHARING, HELD),
        lambda s, o, c, cls, cmd, who, now, i: _raise_now(s, o, c, cls, now, who)),
    "action": _CommandRule(
        _plan_owners, "whoever follows the alert up, or whoever it was raised with",
        RAISED_STATES,
        lambda s, o, c, cls, cmd, who, now, i: _ignore(
            alert_plan.add_action(s, o, c, cmd.arg or "", now, actor=who))),
    "done": _CommandRule(
        _plan_owners, "whoever follows the alert up, or whoever it was raised with",
        RAISED_STATES,
        lambda s, o, c, cls, cmd, who, now, i: _ignore(
            alert_plan.complete_action(s, c, cmd.arg or "", now, actor=who))),
    "resolved": _CommandRule(
        _followers, "the IRO Group Manager or the Head of Service for Safeguarding and QA",
        RAISED_STATES,
        lambda s, o, c, cls, cmd, who, now, i: alert_progress.resolve(
            s, o, c, now, actor=who, outcome=cmd.fields.get("outcome"))),
    "note": _CommandRule(
        _everyone, "people on the alert", (*BEFORE_RAISING, *RAISED_STATES),
        lambda s, o, c, cls, cmd, who, now, i: commands.note(s, c, now, actor=who,
                                                             text=cmd.arg or "", inbound_id=i)),
}


def _ignore(_: object) -> None:
    return None


def _raise_now(session: Session, office: Office, case: Case, cls: Classification,
               now: datetime, actor: str) -> None:
    changed = edit_fields(case, cls)
    edits = f" (changed: {', '.join(changed)})" if changed else ""
    record(session, case, "raise", now, actor=actor,
           summary=f"{person(office, actor).name} asked for it to be raised now{edits}")
    alert_progress.raise_alert(session, office, case, now, actor=actor)


def on_alert_email(
    session: Session, office: Office, case: Case, match: Match, msg: InboundMessage,
    cls: Classification, now: datetime, inbound_id: int,
) -> Outcome:
    """Commands from those who may use them; anyone else's email is a comment, a reply or
    a note on the record, by where the alert stands and who wrote."""
    sender = (msg.from_addr or "").lower()
    link_to_case(session, inbound_id, case.id)
    for command in cls.commands:
        try:
            _run(session, office, case, cls, command, sender, now, inbound_id)
        except CaseRefused as exc:
            _refuse(session, office, case, command, sender, str(exc), now, inbound_id)
    if cls.commands:
        done = ", ".join(f"#{c.name}" for c in cls.commands)
        return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: {done}")
    summary = _on_reply(session, office, case, sender, cls.reply_text or "", now, inbound_id)
    return Outcome("processed", case_ref=case.ref, summary=summary)


def _run(session: Session, office: Office, case: Case, cls: Classification, command: Command,
         sender: str, now: datetime, inbound_id: int) -> None:
    rule = _COMMANDS.get(command.name)
    if rule is None:
        raise CaseRefused(f"#{command.name} does not apply to a collective alert")
    if sender not in rule.who(office, case):
        raise CaseRefused(f"only {rule.who_words} can use #{command.name} on a collective alert")
    if case.status != "open" or case.stage_state not in rule.states:
        where = STATE_WORDS.get(case.stage_state or "", case.status)
        raise CaseRefused(f"#{command.name} does not apply now: the alert is {where}")
    rule.run(session, office, case, cls, command, sender, now, inbound_id)


def _refuse(session: Session, office: Office, case: Case, command: Command, sender: str,
            reason: str, now: datetime, inbound_id: int) -> None:
    record(session, case, "refused", now, actor=sender, inbound_id=inbound_id,
           summary=f"#{command.name} refused: {reason}")
    if not answers.may_answer(session, office, sender, now):
        return
    context = alert_context(office, case, sender_name=person(office, sender).name,
                            reason=reason, command=f"#{command.name}")
    send(session, office, case, template="command_refused", context=context,
         to=[person(office, sender)], purpose="command_refused",
         key=f"refused:{inbound_id}:{command.name}", now=now, automated=True)


def _on_reply(session: Session, office: Office, case: Case, sender: str, text: str,
              now: datetime, inbound_id: int) -> str:
    state = case.stage_state or ""
    if case.status == "open" and state in RAISED_STATES and sender in emails_of(
            raised_with(office, case)):
        return alert_progress.on_raised_reply(session, office, case, sender, text, now,
                                              inbound_id)
    if state in (SHARING, HELD) and sender in emails_of(shared_with(office, case)):
        return alert_drafting.shared_comment(session, office, case, sender, text, now,
                                             inbound_id)
    commenters = emails_of(consulted(office, case)) | emails_of(deciders(office, case))
    if state in (CONSULTATION, REVISION, AGREEMENT) and sender in commenters:
        return alert_drafting.comment(session, office, case, sender, text, now, inbound_id)
    add_reply(session, case, author=sender, step=OTHER, text=text, now=now,
              inbound_id=inbound_id)
    record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
           summary=f"Email from {person(office, sender).name}")
    return f"{case.ref}: recorded reply"


# -- time ---------------------------------------------------------------------------------


def due_steps(office: Office, case: Case, now: datetime) -> list[str]:
    """The alert's timers that have run out at `now` and not yet been acted on."""
    if case.status != "open":
        return []
    alert = alert_of(case)
    if case.stage_state == CONSULTATION and alert.comments_due and now >= (
            office.calendar.end_of_day(alert.comments_due)):
        return ["comments_closed"]
    if case.stage_state == SHARING and alert.raise_on and now >= start_of(office,
                                                                          alert.raise_on):
        return ["raise"]
    if case.stage_id == RAISED:
        return alert_progress.due_steps(office, case, now)
    return []


def apply_due(session: Session, office: Office, case: Case, step: str, now: datetime) -> str:
    if step == "comments_closed":
        return alert_drafting.close_comments(session, office, case, now)
    if step == "raise":
        return alert_progress.raise_alert(session, office, case, now,
                                          actor=alert_of(case).agreed_by)
    if step in ("ack_overdue", "response_overdue"):
        return alert_progress.overdue(session, office, case, step, now)
    if step == "followup":
        return alert_progress.follow_up(session, office, case, now)
    if step == "board_update":
        return alert_progress.board_update(session, office, case, now)
    raise ValueError(f"unknown step {step!r}")


def describe_due(office: Office, case: Case, step: str) -> str:
    alert = alert_of(case)
    return {
        "comments_closed": "send the comments to the drafting IRO to revise",
        "raise": f"raise it (shared on {day_text(office, alert.raise_on)})",
        "board_update": f"make the update for the boards (no reply to follow-up "
                        f"{alert.followups})",
    }.get(step, step.replace("_", " "))


next_followup_at = alert_progress.next_followup_at


# -- helpers ------------------------------------------------------------------------------


def _prefix(office: Office) -> str:
    return office.vocabulary.tags["collective_alert"].ref_prefix


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

