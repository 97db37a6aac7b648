"""Putting a case before senior managers outside the ladder: the monthly challenge meeting,
and independent legal advice.

Leicestershire: "The IRO and Independent Conference Chair can escalate to the challenge
meeting outside of the escalation process in circumstances where immediate oversight is
required, and the timeliness of this requirement negates the escalation process." And: "IRO
and Independent Conference Chair Team Managers (Assistant Service Managers) are responsible
for ensuring the Service Manager is aware of any cases which are entering Stage 3, Stage 4,
being referred to CAFCASS or where independent legal advice is being sought."

`#challenge-meeting <reason>` puts the case in the pack of the month's meeting (and the
next, while it is open), apart from the cases at stages 3 and 4; `#legal-advice <from whom,
why>` records that advice is being sought. Each tells the ladder's `notify` roles (for
information: no reply asked), copying `cc` and the IRO.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused
from mailagent.cases.recipients import greeting, iro_of, names, people_for
from mailagent.cases.timeline import record
from mailagent.store.models import Case, CaseOversight

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def oversight_of(case: Case) -> CaseOversight:
    if case.oversight is None:
        case.oversight = CaseOversight()
    return case.oversight


def refer(session: Session, office: Office, case: Case, reason: str, now: datetime, *,
          actor: str, inbound_id: int) -> None:
    """`#challenge-meeting <reason>`."""
    route = office.ladder_of(case).challenge_meeting
    if route is None:
        raise CaseRefused("this council's rules have no challenge meeting to refer a case to")
    if not reason:
        raise CaseRefused("say why immediate oversight is needed, e.g. #challenge-meeting the "
                          "child's placement ends on Friday and no plan is agreed")
    found = oversight_of(case)
    if found.challenge_meeting_at is not None:
        since = office.calendar.format_day(_day(office, found.challenge_meeting_at))
        raise CaseRefused(f"the case is already on the challenge meeting's pack (since {since})")
    found.challenge_meeting_at, found.challenge_meeting_by = now, actor
    found.challenge_meeting_reason = reason
    session.add(case)
    month = _day(office, now)
    record(session, case, "challenge_meeting", now, actor=actor, inbound_id=inbound_id,
           summary=f"Referred to the challenge meeting ({MONTHS[month.month - 1]} "
                   f"{month.year}) for immediate oversight, outside the escalation process",
           text=reason)
    _tell(session, office, case, route.notify, route.cc, now, key="challenge_meeting",
          template="challenge_meeting_notice", reason=reason, policy_quote=route.policy,
          month_text=f"{MONTHS[month.month - 1]} {month.year}")


def legal_advice(session: Session, office: Office, case: Case, source: str, now: datetime, *,
                 actor: str, inbound_id: int) -> None:
    """`#legal-advice <from whom, and why>`."""
    route = office.ladder_of(case).legal_advice
    if route is None:
        raise CaseRefused("this council's rules do not describe independent legal advice")
    if not source:
        sources = " or ".join(route.advice_from) or "the legal service"
        raise CaseRefused(f"say from whom the advice is sought (e.g. {sources}), and why")
    found = oversight_of(case)
    first = found.legal_advice_at is None
    found.legal_advice_at, found.legal_advice_by, found.legal_advice_from = now, actor, source
    session.add(case)
    record(session, case, "legal_advice", now, actor=actor, inbound_id=inbound_id,
           summary="Independent legal advice being sought", text=source)
    if route.notify:
        _tell(session, office, case, route.notify, route.cc, now,
              key="legal_advice" if first else f"legal_advice:{inbound_id}",
              template="legal_advice_notice", source=source, policy_quote=route.policy)


def _tell(session: Session, office: Office, case: Case, notify: tuple[str, ...],
          cc: tuple[str, ...], now: datetime, *, key: str, template: str,
          **extra: object) -> None:
    told = people_for(office, case, list(notify))
    copied = [p for p in people_for(office, case, list(cc)) + iro_of(office, case)
              if p.email not in {t.email for t in told}]
    ladder = office.ladder_of(case)
    context = case_context(session, office, case, ladder, recipient_name=greeting(told),
                           told_names=names(told), **extra)
    send(session, office, case, template=template, context=context, to=told, cc=copied,
         purpose=template, key=key, now=now, working_hours=True, automated=True)



def _day(office: Office, at: datetime) -> date:
    return at.astimezone(office.calendar.tz).date()
