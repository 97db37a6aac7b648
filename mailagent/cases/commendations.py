"""Good-practice commendations: filed in the register (GP-YYYY-NNNN) and sent to the worker,
their manager, the Learning Academy, the Head of Service and the Director, per
`rules/commendation.toml`, with the IRO copied and acknowledged.

A commendation may name one child, several, or none (praise for a whole team), and may
follow an escalation ("resolved quickly and well"), which it links to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from mailagent.cases.answers import ask_for_corrections
from mailagent.cases.match import Match
from mailagent.cases.notify import email_context, names, people_for, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome
from mailagent.cases.recipients import name_of
from mailagent.cases.timeline import next_ref, record, remember_message
from mailagent.mail.classify import Classification
from mailagent.mail.parse import InboundMessage
from mailagent.mail.references import references_for
from mailagent.store.inbound import link_to_case
from mailagent.store.models import Case


def on_commendation(
    session: Session, office: Office, msg: InboundMessage, cls: Classification, now: datetime,
    inbound_id: int,
) -> Outcome:
    """File and send an IRO's commendation, or ask them to say what is missing."""
    sender = (msg.from_addr or "").lower()
    fields, problems = commendation_fields(office, cls)
    if problems:
        ask_for_corrections(session, office, "commendation", msg, cls, problems, now, inbound_id)
        return Outcome("processed", "not filed: the IRO was asked to correct it",
                       summary="commendation not filed; IRO asked to correct it")
    year = now.astimezone(office.calendar.tz).year
    case = Case(
        ref=next_ref(session, office.vocabulary.tags["commendation"].ref_prefix, year),
        kind="commendation", status="filed",
        child_ref=fields.get("child"), team=fields.get("team"),
        category=fields.get("category"), iro_email=sender, fields=fields, opened_at=now,
        closed_at=now, linked_ref=fields.get("linked_ref"),
        root_message_id=msg.message_id,
    )
    session.add(case)
    session.flush()
    remember_message(session, case, msg.message_id, "in")
    record(session, case, "commendation", now, actor=sender, inbound_id=inbound_id,
           summary="Good practice commendation filed")
    _send(session, office, case, now)
    link_to_case(session, inbound_id, case.id)
    return Outcome("processed", case_ref=case.ref, summary=f"filed {case.ref}")


def commendation_fields(office: Office, cls: Classification) -> tuple[dict[str, Any], list[str]]:
    """What the commendation says, and what the IRO must add before it can be sent."""
    values = {k: v for k, v in cls.fields.values.items() if isinstance(v, str)}
    fields: dict[str, Any] = dict(values)
    problems: list[str] = []
    team = office.directory.find_team(values["team"]) if values.get("team") else None
    if team is None:
        known = ", ".join(sorted(office.directory.teams()))
        problems.append(f"Team: write the team whose practice was good, one of: {known}")
    else:
        fields["team"], fields["team_name"] = team, office.directory.team_name(team)
        worker = values.get("social_worker")
        email = office.directory.find_in_team(team, worker) if worker else None
        if email:
            fields["social_worker_email"] = email
    practice = values.get("good_practice") or values.get("issue") or cls.fields.other_text.strip()
    if not practice:
        problems.append("Good practice: say what was good, e.g. Good practice: The social "
                        "worker visited every week and the child's views shaped the plan.")
    fields["practice"] = practice
    text = " ".join(str(v) for v in values.values()) + " " + (cls.reply_text or "")
    escalation = office.vocabulary.tags["escalation"].ref_prefix
    linked = [ref for ref, prefix in references_for(office.vocabulary.ref_prefixes).find_all(text)
              if prefix == escalation]
    if linked:
        fields["linked_ref"] = linked[0]
    return fields, problems


def _send(session: Session, office: Office, case: Case, now: datetime) -> None:
    rules = office.rules.commendation
    worker = people_for(office, case, list(rules.to)) if case.fields.get(
        "social_worker_email") else []
    # Without a named worker (team praise), it goes to the team's manager instead.
    to = worker or people_for(office, case, ["team_manager"])
    to_emails = {p.email for p in to}
    cc = [p for p in people_for(office, case, [*rules.cc, "iro"]) if p.email not in to_emails]
    context = commendation_context(office, case, to_names=names(to), cc_names=names(cc),
                                   recipient_name=" and ".join(p.name for p in to))
    send(session, office, case, template=rules.templates.commendation, context=context, to=to,
         cc=cc, purpose="commendation", key="commendation", now=now, working_hours=True)
    send(session, office, case, template=rules.templates.acknowledgment, context=context,
         to=people_for(office, case, ["iro"]), purpose="commendation_ack", key="ack", now=now,
         automated=True)


def commendation_context(office: Office, case: Case, **extra: Any) -> dict[str, Any]:
    f = case.fields
    return email_context(
        office, case,
        case_fields={
            "child_ref": case.child_ref,
            "children": f.get("children"),
            "team": f.get("team_name") or case.team,
            "social_worker": f.get("social_worker"),
            "practice": f.get("practice", ""),
            "impact": f.get("impact", ""),
            "linked_ref": case.linked_ref,
        },
        **extra,
    )



def on_commendation_email(
    session: Session, office: Office, case: Case, match: Match, msg: InboundMessage,
    cls: Classification, now: datetime, inbound_id: int,
) -> Outcome:
    """A reply about a filed commendation is kept on its record."""
    sender = (msg.from_addr or "").lower()
    record(session, case, "reply", now, actor=sender, inbound_id=inbound_id,
           summary=f"Email from {name_of(office, sender)}")
    return Outcome("processed", case_ref=case.ref, summary=f"{case.ref}: recorded reply")
