"""What to do with each kind of email, once it is understood: open, answer, decide, or file.

`handle_message` is the one place every inbound email meets the case engine. A person's
mistake (missing fields, an unknown case, a request the rules refuse) is answered in plain
English; mail that no rule covers, or from someone who may not act, is quarantined with its
reason for a person to look at. Machine mail is never answered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr
from typing import Any

from sqlmodel import Session

from mailagent import engine
from mailagent.app import Agent
from mailagent.automated import bounce_details
from mailagent.classify import Classification
from mailagent.directory import Person
from mailagent.fields import Command, RespondBy, example_fields, missing_or_wrong, parse_fields
from mailagent.inbound import link_to_case
from mailagent.match import Match, match_case
from mailagent.models import Case, Inbound, MessageRef
from mailagent.notify import case_context, names, people_for, send, stage_recipients
from mailagent.outbox import OutgoingEmail, queue_email
from mailagent.parse import InboundMessage
from mailagent.vocabulary import TAG_KINDS

log = logging.getLogger(__name__)

CASE_KINDS = ("escalation", "challenge")
MAY_COMMAND = ("iro", "iro_manager")


@dataclass(frozen=True)
class Outcome:
    status: str  # "processed" or "quarantined"
    reason: str | None = None
    case_ref: str | None = None
    summary: str = ""


def quarantined(reason: str) -> Outcome:
    return Outcome("quarantined", reason, summary=f"quarantined: {reason}")


def handle_message(
    session: Session, agent: Agent, inbound_id: int, msg: InboundMessage, cls: Classification
) -> Outcome:
    """Act on one understood email inside the caller's transaction."""
    _note_kind(session, inbound_id, cls.kind)
    sender = (msg.from_addr or "").lower()
    if not sender:
        return quarantined("no sender address")
    now = agent.clock.now()
    if cls.kind == "bounce":
        return on_bounce(session, agent, msg, now, inbound_id)
    match = match_case(
        session,
        sender=sender,
        message_ids=[*reversed(msg.in_reply_to), *reversed(msg.references)],
        marker_ref=cls.marker_ref,
        subject_ref=cls.subject_ref,
        conversation=msg.thread_index_conversation,
        child_ref=cls.child_ref if cls.kind in ("reply", "command") else None,
    )
    if cls.kind == "autoreply":
        return on_autoreply(session, agent, match, sender, now, inbound_id)
    if cls.kind in TAG_KINDS:
        return on_tagged(session, agent, cls.kind, msg, cls, now, inbound_id)
    if match is None:
        if cls.kind == "reply" and cls.tag in TAG_KINDS and agent.directory.is_iro(sender):
            # The IRO answering our "please correct" email with the corrected fields.
            return on_tagged(session, agent, cls.tag, msg, cls, now, inbound_id)
        return on_unmatched(session, agent, msg, cls, now, inbound_id)
    case = match.case
    _attach(session, case, msg, inbound_id)
    if match.weak:
        engine.record(session, case, "weak_match", now, actor=sender, inbound_id=inbound_id,
                      summary="Email matched by sender and child reference only")
    if case.kind == "collective_alert":
        from mailagent import collective

        return collective.on_alert_email(session, agent, case, msg, cls, now, inbound_id)
    if case.kind == "commendation":
        engine.record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
                      summary=f"Email from {_name(agent, sender)}")
        return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: recorded reply")
    if cls.kind == "command":
        return on_commands(session, agent, case, msg, cls, now, inbound_id)
    return on_reply(session, agent, match, msg, cls, now, inbound_id)


# -- opening work -------------------------------------------------------------------------


def on_tagged(
    session: Session, agent: Agent, kind: str, msg: InboundMessage, cls: Classification,
    now: datetime, inbound_id: int,
) -> Outcome:
    sender = (msg.from_addr or "").lower()
    if not agent.directory.is_iro(sender):
        log.warning("tagged email from someone who is not an IRO", extra={"inbound_id": inbound_id})
        return quarantined("unauthorised sender: not an IRO in the directory")
    if kind == "commendation":
        from mailagent import commendations

        return commendations.on_commendation(session, agent, msg, cls, now, inbound_id)
    if kind == "collective_alert":
        from mailagent import collective

        return collective.on_new_alert(session, agent, msg, cls, now, inbound_id)
    fields, problems = case_fields(agent, kind, cls)
    if problems:
        ask_for_corrections(session, agent, kind, msg, cls, problems, now, inbound_id)
        return Outcome("processed", "not opened: the IRO was asked to correct it",
                       summary=f"{kind} not opened; IRO asked to correct {len(problems)} thing(s)")
    case = engine.open_case(
        session, agent, kind=kind, fields=fields, iro_email=sender, now=now,
        inbound_id=inbound_id, message_ids=[m for m in (msg.message_id,
                                                        msg.original_message_id) if m],
        conversation=msg.thread_index_conversation,
    )
    link_to_case(session, inbound_id, case.id)
    from mailagent import collective

    collective.link_if_named(session, case, f"{msg.subject}\n{cls.reply_text or ''}")
    return Outcome("processed", case_ref=case.ref, summary=f"opened {case.ref}")


def case_fields(agent: Agent, kind: str, cls: Classification) -> tuple[dict[str, Any], list[str]]:
    """The case's fields from the email, and what the IRO must correct first."""
    vocab = agent.vocabulary
    values = cls.fields.values
    problems = list(missing_or_wrong(cls.fields, vocab, kind))
    fields: dict[str, Any] = {k: v for k, v in values.items() if isinstance(v, str)}
    ladder = agent.rules.ladders[agent.ladder_id]
    team = _team_id(agent, fields.get("team"))
    if team is None and agent.directory.teams():
        known = ", ".join(sorted(agent.directory.teams()))
        written = fields.get("team")
        problems.append(
            f"Team: '{written}' is not a team in the directory; write one of: {known}"
            if written else f"Team: is missing. Write the social work team, one of: {known}"
        )
    fields["team"] = team
    if team:
        fields["team_name"] = agent.directory.team_name(team)
    if fields.get("category"):
        fields["category_label"] = vocab.category(fields["category"]).label
    plan = fields.get("plan")
    if plan and plan not in ladder.plan_types:
        problems.append(f"Plan: {plan} cases are not covered by this ladder ({ladder.name})")
    if fields.get("stage"):
        try:
            engine.bypass_target(ladder, fields["stage"])
        except engine.CaseRefused as exc:
            problems.append(f"Stage: {exc}")
    respond_by = values.get("respond_by")
    if isinstance(respond_by, RespondBy):
        fields["respond_by_days"] = respond_by.working_days
        fields["respond_by_date"] = respond_by.on.isoformat() if respond_by.on else None
    worker = fields.get("social_worker")
    if worker and team:
        email = agent.directory.find_in_team(team, worker)
        if email:
            fields["social_worker_email"] = email
    return fields, problems


def _team_id(agent: Agent, written: str | None) -> str | None:
    if not written:
        return None
    return agent.directory.find_team(written)


def ask_for_corrections(
    session: Session, agent: Agent, kind: str, msg: InboundMessage, cls: Classification,
    problems: list[str], now: datetime, inbound_id: int,
) -> None:
    iro = agent.directory.person_by_email(msg.from_addr or "")
    context = {
        "sender_name": iro.name if iro else msg.from_name or msg.from_addr,
        "tag_label": agent.vocabulary.tags[kind].label,
        "original_subject": msg.subject,
        "problems": problems,
        "example": example_fields(agent.vocabulary, kind),
        "child_ref": cls.child_ref,
        "mailbox": agent.settings.agent.mailbox,
    }
    _answer(session, agent, msg, "fields_problem", context, now, inbound_id)


# -- people answering ---------------------------------------------------------------------


def on_reply(
    session: Session, agent: Agent, match: Match, msg: InboundMessage, cls: Classification,
    now: datetime, inbound_id: int,
) -> Outcome:
    case = match.case
    sender = (msg.from_addr or "").lower()
    text = cls.reply_text or ""
    if case.status != "open":
        found = _outcome_fields(agent, cls)
        if sender == case.iro_email and found:
            engine.record_outcome(session, case, now, actor=sender, outcome=found[0],
                                  learning=found[1])
            return Outcome("processed", case_ref=case.ref, summary="outcome recorded")
        engine.record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
                      summary=f"Email after the case closed, from {_name(agent, sender)}")
        return Outcome("processed", case_ref=case.ref, summary="reply to a closed case")
    stage = engine.ladder_of(agent, case).stage(case.stage_id)
    responder = _addressee(agent, case, sender)
    if responder is not None:
        engine.respond(session, agent, case, responder, text, now, inbound_id)
        return Outcome("processed", case_ref=case.ref,
                       summary=f"{case.ref}: response at {stage.name}")
    who = "the IRO" if sender == case.iro_email else _name(agent, sender)
    engine.record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
                  summary=f"Email from {who} (does not answer the stage)")
    return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: recorded reply")


def on_commands(
    session: Session, agent: Agent, case: Case, msg: InboundMessage, cls: Classification,
    now: datetime, inbound_id: int,
) -> Outcome:
    sender = (msg.from_addr or "").lower()
    done: list[str] = []
    for command in cls.commands:
        try:
            check_may(agent, case, command, sender)
            if case.status == "resolved" and command.name == "resolved" and command.fields:
                # The IRO answering our request for the outcome with "#resolved Outcome: ..."
                engine.record_outcome(session, case, now, actor=sender,
                                      outcome=command.fields.get("outcome"),
                                      learning=command.fields.get("learning"))
            elif case.status != "open" and command.name != "note":
                raise engine.CaseRefused(f"{case.ref} is already {case.status}")
            else:
                run_command(session, agent, case, command, sender, now, inbound_id)
            done.append(f"#{command.name}")
        except engine.CaseRefused as exc:
            refuse(session, agent, case, command, sender, str(exc), now, inbound_id)
    responder = _addressee(agent, case, sender) if case.status == "open" else None
    if responder is not None and not done:
        # The stage's addressee wrote a command they may not use ("#resolved" from a team
        # manager): what they wrote still answers the stage, and the IRO decides.
        engine.respond(session, agent, case, responder, cls.reply_text or "", now, inbound_id)
        done.append("response")
    return Outcome("processed", case_ref=case.ref,
                   summary=f"{case.ref}: {', '.join(done) or 'no command carried out'}")


def check_may(agent: Agent, case: Case, command: Command, sender: str) -> None:
    """Refuse a command from someone the rules do not let use it on this case."""
    if command.name == "resolved" and case.stage_id:
        # The stage says who may declare the matter resolved.
        stage = engine.ladder_of(agent, case).stage(case.stage_id)
        roles = stage.resolved_by
    else:
        roles = MAY_COMMAND
    allowed = {p.email for p in people_for(agent, case, list(roles))} | {case.iro_email}
    if sender not in allowed:
        raise engine.CaseRefused("only the case's IRO (or their manager) can do this")


def _addressee(agent: Agent, case: Case, sender: str) -> Person | None:
    """`sender` if they are (or stand in for) the person the current stage is sent to."""
    if not case.stage_id or case.kind not in CASE_KINDS:
        return None
    stage = engine.ladder_of(agent, case).stage(case.stage_id)
    return next((p for p in stage_recipients(agent, case, stage).to if p.email == sender), None)


def run_command(
    session: Session, agent: Agent, case: Case, command: Command, sender: str, now: datetime,
    inbound_id: int,
) -> None:
    name, arg = command.name, (command.arg or "").strip()
    if name == "resolved":
        engine.resolve(session, agent, case, now, actor=sender,
                       outcome=command.fields.get("outcome"),
                       learning=command.fields.get("learning"))
    elif name == "escalate":
        target = arg.removeprefix("to ").strip() if arg else None
        engine.escalate(session, agent, case, now, actor=sender, to_stage=target or None)
    elif name == "extend":
        if not arg.isdigit():
            raise engine.CaseRefused("#extend needs a number of working days, e.g. #extend 5")
        engine.extend(session, agent, case, now, actor=sender, days=int(arg))
    elif name == "withdraw":
        engine.withdraw(session, agent, case, now, actor=sender, reason=arg or None)
    elif name == "cafcass":
        engine.cafcass(session, agent, case, now, actor=sender)
    elif name == "note":
        engine.note(session, case, now, actor=sender, text=arg, inbound_id=inbound_id)
    elif name == "pause":
        engine.pause(session, agent, case, now, actor=sender, reason=arg or None)
    elif name == "resume":
        engine.resume(session, agent, case, now, actor=sender)
    else:
        raise engine.CaseRefused(f"#{name} does not apply to an escalation")


def refuse(
    session: Session, agent: Agent, case: Case, command: Command, sender: str, reason: str,
    now: datetime, inbound_id: int,
) -> None:
    engine.record(session, case, "refused", now, actor=sender, inbound_id=inbound_id,
                  summary=f"#{command.name} refused: {reason}")
    person = agent.directory.person_by_email(sender) or Person(name=sender, email=sender)
    ladder = engine.ladder_of(agent, case)
    context = case_context(session, agent, case, ladder, sender_name=person.name,
                           command=f"#{command.name}" + (f" {command.arg}" if command.arg else ""),
                           reason=reason)
    send(session, agent, case, template="command_refused", context=context, to=[person],
         purpose="command_refused", key=f"refused:{inbound_id}:{command.name}", now=now,
         automated=True)


# -- machine mail -------------------------------------------------------------------------


def on_autoreply(
    session: Session, agent: Agent, match: Match | None, sender: str, now: datetime,
    inbound_id: int,
) -> Outcome:
    """An out-of-office from a stage's addressee sends the stage email to their deputy."""
    if match is None or match.case.status != "open":
        return Outcome("processed", "automated reply, not about an open case",
                       summary="automated reply filed")
    case = match.case
    link_to_case(session, inbound_id, case.id)
    engine.record(session, case, "autoreply", now, actor=sender, inbound_id=inbound_id,
                  summary=f"Automatic reply from {_name(agent, sender)}")
    stage = engine.ladder_of(agent, case).stage(case.stage_id)
    addressee = next(
        (p for p in stage_recipients(agent, case, stage).to if p.email == sender), None
    )
    person = agent.directory.person_by_email(sender)
    if addressee is None or person is None or case.stage_state == "paused":
        return Outcome("processed", case_ref=case.ref, summary="automated reply recorded")
    return Outcome("processed", case_ref=case.ref, summary=engine.stand_in(
        session, agent, case, person, now))


def on_bounce(
    session: Session, agent: Agent, msg: InboundMessage, now: datetime, inbound_id: int
) -> Outcome:
    """A bounce of our email tells the IRO that the person did not receive it."""
    details = bounce_details(msg)
    case = None
    for message_id in details.original_message_ids:
        ref = session.get(MessageRef, message_id)
        if ref is not None and ref.direction == "out":
            case = session.get(Case, ref.case_id)
            break
    if case is None:
        return Outcome("processed", "bounce not about a case email", summary="bounce filed")
    link_to_case(session, inbound_id, case.id)
    failed = [agent.directory.person_by_email(a) or Person(name=a, email=a)
              for a in details.failed_recipients]
    engine.record(session, case, "bounce", now, inbound_id=inbound_id,
                  summary=f"Email not delivered to {names(failed) or 'a recipient'}")
    if failed and all(p.email == case.iro_email for p in failed):
        # The IRO's own address failed: an email to tell them would bounce too.
        return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: bounce to the IRO")
    ladder = engine.ladder_of(agent, case)
    context = case_context(session, agent, case, ladder,
                           failed_names=names(failed) or "one of the recipients")
    send(session, agent, case, template="bounce_notice", context=context,
         to=people_for(agent, case, ["iro"]), purpose="bounce_notice",
         key=f"bounce:{inbound_id}", now=now, automated=True)
    return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: bounce; IRO told")


def on_unmatched(
    session: Session, agent: Agent, msg: InboundMessage, cls: Classification, now: datetime,
    inbound_id: int,
) -> Outcome:
    sender = (msg.from_addr or "").lower()
    if not agent.directory.is_iro(sender):
        return quarantined(f"{cls.kind}: not about a known case, and not from a known IRO")
    iro = agent.directory.person_by_email(sender)
    vocab = agent.vocabulary
    context = {
        "sender_name": iro.name if iro else sender,
        "original_subject": msg.subject,
        "tags": [{"tag": f"[{rule.words[0].upper()}]", "meaning": rule.label}
                 for rule in vocab.tags.values()],
        "example": example_fields(vocab, "escalation"),
        "mailbox": agent.settings.agent.mailbox,
    }
    _answer(session, agent, msg, "help", context, now, inbound_id)
    return Outcome("processed", "not about a case: the IRO was sent help",
                   summary="IRO sent help")


# -- helpers ------------------------------------------------------------------------------


def _answer(session: Session, agent: Agent, msg: InboundMessage, template: str,
            context: dict[str, Any], now: datetime, inbound_id: int) -> None:
    """Answer the sender of an email that belongs to no case."""
    rendered = agent.renderer.render(template, context)
    email = OutgoingEmail(
        to=[formataddr((context["sender_name"], msg.from_addr or ""))],
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=msg.message_id, references=[msg.message_id] if msg.message_id else [],
        automated=True,
    )
    queue_email(session, email, sender=agent.sender, purpose=template,
                dedupe_key=f"{template}:{inbound_id}", now=now)


def _outcome_fields(agent: Agent, cls: Classification) -> tuple[str | None, str | None] | None:
    """Outcome: and Learning: written in a plain reply after the case closed."""
    found = parse_fields(cls.reply_text or "", agent.vocabulary, scope="command").values
    outcome, learning = found.get("outcome"), found.get("learning")
    if outcome is None and learning is None:
        return None
    return (str(outcome) if outcome else None, str(learning) if learning else None)


def _attach(session: Session, case: Case, msg: InboundMessage, inbound_id: int) -> None:
    link_to_case(session, inbound_id, case.id)
    for message_id in (msg.message_id, msg.original_message_id):
        engine.remember_message(session, case, message_id, "in")
    engine.remember_conversation(session, case, msg.thread_index_conversation)


def _note_kind(session: Session, inbound_id: int, kind: str) -> None:
    row = session.get(Inbound, inbound_id)
    if row is not None:
        row.kind = kind
        session.add(row)


def _name(agent: Agent, email: str) -> str:
    person = agent.directory.person_by_email(email)
    return person.name if person else email

