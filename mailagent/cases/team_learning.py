"""The social work team's key learning points, asked for when a case is resolved.

QA policy, 5.1: "Once the Quality Assurance issue resolution is resolved, the IRO/CPC and the
social work team complete the 'Outcome of issue requiring resolution' and 'Key learning
points' section of the form to capture learning." 5.2: "Learning from Quality Assurance
Issue Resolutions will be discussed and acted upon within team meetings".

With `[team_learning]` in the ladder, the resolution is followed by a request to the `from`
role (the Team Manager), copying the IRO; their reply (a `Learning:` line, or the whole of
what they wrote) is filed beside the IRO's outcome and learning, and appears in the
quarterly report and the case's record.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import Outcome
from mailagent.cases.recipients import greeting, iro_of, people_for
from mailagent.cases.timeline import record
from mailagent.mail.classify import Classification
from mailagent.mail.fields import parse_fields
from mailagent.store.models import Case


def follow(session: Session, office: Office, case: Case, now: datetime) -> list[str]:
    """Resolved: the team is asked for its learning points, once."""
    route = office.ladder_of(case).team_learning
    if route is None or case.status != "resolved" or case.team_learning_asked_at is not None:
        return []
    team = people_for(office, case, [route.from_role])
    if not team:
        return []
    case.team_learning_asked_at = now
    session.add(case)
    record(session, case, "team_learning_asked", now,
           summary=f"{', '.join(p.name for p in team)} asked for the team's key learning points")
    copied = [p for p in people_for(office, case, list(route.cc)) + iro_of(office, case)
              if p.email not in {t.email for t in team}]
    context = case_context(session, office, case, office.ladder_of(case),
                           recipient_name=greeting(team),
                           policy_quote=route.policy, case_outcome=case.outcome or "")
    send(session, office, case, template="team_learning_request", context=context, to=team,
         cc=copied, purpose="team_learning_request", key="team_learning", now=now,
         working_hours=True)
    return [f"{case.ref}: team's learning points asked for"]


def receive(session: Session, office: Office, case: Case, sender: str, cls: Classification,
            now: datetime, inbound_id: int) -> Outcome | None:
    """The team's answer: filed with the outcome; None if this email is not it."""
    route = office.ladder_of(case).team_learning
    if route is None or case.team_learning_asked_at is None or case.team_learning:
        return None
    if sender not in {p.email for p in people_for(office, case, [route.from_role])}:
        return None
    text = cls.reply_text or ""
    found = parse_fields(text, office.vocabulary, scope="command").values.get("learning")
    learning = str(found or text).strip()
    if not learning:
        return None
    case.team_learning, case.team_learning_by, case.team_learning_at = learning, sender, now
    session.add(case)
    record(session, case, "team_learning", now, actor=sender, inbound_id=inbound_id,
           summary="The social work team's key learning points recorded", text=learning)
    return Outcome("processed", case_ref=case.ref,
                   summary=f"{case.ref}: team's learning points recorded")
