"""A tagged email from an IRO opens an escalation or a positive challenge, once its fields
are complete; otherwise the IRO is asked to correct them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session

from mailagent.cases import collective, escalation
from mailagent.cases.answers import ask_for_corrections
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused, Outcome
from mailagent.mail.classify import Classification
from mailagent.mail.fields import RespondBy, missing_or_wrong
from mailagent.mail.parse import InboundMessage
from mailagent.store.inbound import link_to_case

log = logging.getLogger(__name__)


def case_fields(office: Office, kind: str, cls: Classification) -> tuple[dict[str, Any], list[str]]:
    """The case's fields from the email, and what the IRO must correct first."""
    vocab = office.vocabulary
    values = cls.fields.values
    problems = list(missing_or_wrong(cls.fields, vocab, kind))
    fields: dict[str, Any] = {k: v for k, v in values.items() if isinstance(v, str)}
    ladder = office.rules.ladders[office.ladder_id]
    team = _team_id(office, fields.get("team"))
    if team is None and office.directory.teams():
        known = ", ".join(sorted(office.directory.teams()))
        written = fields.get("team")
        problems.append(
            f"Team: '{written}' is not a team in the directory; write one of: {known}"
            if written else f"Team: is missing. Write the social work team, one of: {known}"
        )
    fields["team"] = team
    if team:
        fields["team_name"] = office.directory.team_name(team)
    if fields.get("category"):
        fields["category_label"] = vocab.category(fields["category"]).label
    plan = fields.get("plan")
    if plan and plan not in ladder.plan_types:
        problems.append(f"Plan: {plan} cases are not covered by this ladder ({ladder.name})")
    if fields.get("stage"):
        try:
            escalation.bypass_target(ladder, fields["stage"])
        except CaseRefused as exc:
            problems.append(f"Stage: {exc}")
    respond_by = values.get("respond_by")
    if isinstance(respond_by, RespondBy):
        fields["respond_by_days"] = respond_by.working_days
        fields["respond_by_date"] = respond_by.on.isoformat() if respond_by.on else None
    worker = fields.get("social_worker")
    if worker and team:
        email = office.directory.find_in_team(team, worker)
        if email:
            fields["social_worker_email"] = email
    return fields, problems


def _team_id(office: Office, written: str | None) -> str | None:
    if not written:
        return None
    return office.directory.find_team(written)


def open_from_email(
    session: Session, office: Office, kind: str, msg: InboundMessage, cls: Classification,
    now: datetime, inbound_id: int,
) -> Outcome:
    """Open the escalation or positive challenge an IRO's tagged email asks for."""
    sender = (msg.from_addr or "").lower()
    fields, problems = case_fields(office, kind, cls)
    if problems:
        ask_for_corrections(session, office, kind, msg, cls, problems, now, inbound_id)
        return Outcome("processed", "not opened: the IRO was asked to correct it",
                       summary=f"{kind} not opened; IRO asked to correct {len(problems)} thing(s)")
    case = escalation.open_case(
        session, office, kind=kind, fields=fields, iro_email=sender, now=now,
        inbound_id=inbound_id, message_ids=[m for m in (msg.message_id,
                                                        msg.original_message_id) if m],
        conversation=msg.thread_index_conversation,
    )
    link_to_case(session, inbound_id, case.id)
    collective.link_if_named(session, office, case, f"{msg.subject}\n{cls.reply_text or ''}")
    return Outcome("processed", case_ref=case.ref, summary=f"opened {case.ref}")
