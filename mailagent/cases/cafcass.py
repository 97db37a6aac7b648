"""A CAFCASS referral's conditions: what must have happened before the referral goes, and
the referral itself, beside the IRO's `#cafcass` (a referral is being considered).

Leicestershire: "A meeting with the Assistant Director and relevant Head of Service and Head
Of Service for Safeguarding and Performance will always be convened prior to escalation to
CAFCASS to set out issues that cannot be resolved. Once this has been held if matters remain
unresolved the following steps will be taken IRO to record within the Mosaic step that the
matter is escalating to CAFCASS." QA policy: "prior to making a referral, the IRO must inform
the Deputy Director". Brent: "ultimately CAFCASS can be contacted if the issues cannot be
satisfactorily resolved".

Once the IRO has said a referral is being considered, each `meeting` prerequisite of the
ladder's `[cafcass]` is asked for (its members are asked to meet), and the IRO reminded until
they record it held: `#cafcass-meeting <date held>` with an `Outcome:` line. The referral,
`#cafcass-referred` (with a `Recorded:` line, the words the IRO wrote in the child's record,
when the ladder asks for them), is refused, saying what is missing, until every prerequisite
is met: a meeting recorded as held, a notice sent (by `#cafcass`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from mailagent.cases.notify import case_context, send
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused
from mailagent.cases.recipients import greeting, iro_of, names, people_for
from mailagent.cases.timeline import record
from mailagent.mail.fields import Command, parse_date
from mailagent.policy.ladder import CafcassRoute, Prerequisite
from mailagent.store.models import CafcassReferral, Case, CaseEvent

REMINDER = "cafcass_meeting_reminder"


def referral_of(case: Case) -> CafcassReferral:
    if case.cafcass is None:
        case.cafcass = CafcassReferral()
    return case.cafcass


def _route(office: Office, case: Case) -> CafcassRoute:
    route = office.ladder_of(case).cafcass
    if route is None:
        raise CaseRefused("this council's rules do not describe a CAFCASS referral route")
    if case.plan not in route.plan_types:
        raise CaseRefused("a CAFCASS referral is only possible for looked-after children "
                          f"(plan LAC); this case's plan is {case.plan or 'not recorded'}")
    return route


def _meetings(route: CafcassRoute | None) -> list[Prerequisite]:
    return [p for p in (route.prerequisites if route else ()) if p.action == "meeting"]


# -- after #cafcass ---------------------------------------------------------------------


def follow(session: Session, office: Office, case: Case, now: datetime) -> list[str]:
    """Once a referral is being considered (`#cafcass`), the meetings that must come first
    are asked for, once."""
    route = office.ladder_of(case).cafcass
    if route is None or (case.cafcass is not None and case.cafcass.considered_at is not None):
        return []
    considered = session.exec(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "cafcass").order_by(CaseEvent.id)).first()
    if considered is None:
        return []
    referral = referral_of(case)
    referral.considered_at = considered.at
    session.add(case)
    meetings = _meetings(route)
    if not meetings or case.status != "open":
        return []
    referral.meeting_asked_at = now
    members = people_for(office, case, [r for m in meetings for r in m.roles])
    record(session, case, "cafcass_meeting_asked", now,
           summary=f"Meeting before any CAFCASS referral asked of {names(members)}")
    copied = iro_of(office, case) + people_for(office, case, ["iro_manager"])
    send(session, office, case, template="cafcass_meeting_request",
         context=_context(session, office, case, route, recipient_name=greeting(members),
                          policy_quote=route.referral.meeting_policy),
         to=members, cc=copied, purpose="cafcass_meeting_request", key="cafcass_meeting",
         now=now, working_hours=True)
    return [f"{case.ref}: meeting before a CAFCASS referral asked for"]


def reminder_at(office: Office, case: Case) -> datetime | None:
    """When the IRO is next to be reminded of the meeting; None if they are not to be."""
    route = office.ladder_of(case).cafcass
    referral = case.cafcass
    if route is None or referral is None or referral.meeting_asked_at is None:
        return None
    if case.status != "open" or referral.meeting_held_on or referral.referred_at:
        return None
    last = referral.meeting_reminded_at or referral.meeting_asked_at
    return after_working_days(office, last, route.referral.remind_working_days)


def remind(session: Session, office: Office, case: Case, now: datetime) -> str:
    """The meeting is not yet recorded as held: the IRO is reminded, their manager copied."""
    route = _route(office, case)
    referral = referral_of(case)
    referral.meeting_reminded_at = now
    session.add(case)
    record(session, case, REMINDER, now,
           summary="IRO reminded: the meeting before a CAFCASS referral is not yet recorded")
    send(session, office, case, template=REMINDER,
         context=_context(session, office, case, route,
                          recipient_name=greeting(iro_of(office, case)),
                          asked_text=office.calendar.format_day(
                              _day(office, referral.meeting_asked_at or now))),
         to=iro_of(office, case), cc=people_for(office, case, ["iro_manager"]),
         purpose=REMINDER, key=f"{REMINDER}:{now.isoformat()}", now=now, working_hours=True,
         automated=True)
    return f"{case.ref}: IRO reminded of the meeting before a CAFCASS referral"


def after_working_days(office: Office, at: datetime, days: int) -> datetime:
    """The start of working hours `days` working days after the day of `at`."""
    cal = office.calendar
    day = cal.add_working_days(cal.receipt_day(at), days)
    return datetime.combine(day, cal.working_hours[0], tzinfo=cal.tz)


# -- the IRO's commands -----------------------------------------------------------------


def record_meeting(session: Session, office: Office, case: Case, command: Command,
                   now: datetime, *, actor: str, inbound_id: int) -> None:
    """`#cafcass-meeting 14 December 2026` with `Outcome: ...`: the meeting was held."""
    route = _route(office, case)
    meetings = _meetings(route)
    if not meetings:
        raise CaseRefused("this council's rules ask for no meeting before a CAFCASS referral")
    held = parse_date(command.fields.get("held") or command.arg or "")
    outcome = (command.fields.get("outcome") or "").strip()
    example = ("e.g. #cafcass-meeting 14 December 2026, then a line Outcome: what was "
               "decided")
    if held is None:
        raise CaseRefused(f"#cafcass-meeting needs the date the meeting was held, {example}")
    if held > _day(office, now):
        raise CaseRefused(f"the meeting cannot be recorded as held on "
                          f"{office.calendar.format_day(held)}, a day still to come")
    if not outcome:
        raise CaseRefused(f"#cafcass-meeting needs the meeting's outcome, {example}")
    referral = referral_of(case)
    referral.considered_at = referral.considered_at or now
    referral.meeting_held_on, referral.meeting_outcome = held, outcome
    referral.meeting_recorded_at, referral.meeting_recorded_by = now, actor
    session.add(case)
    record(session, case, "cafcass_meeting", now, actor=actor, inbound_id=inbound_id,
           summary=f"{meetings[0].text}: held on {office.calendar.format_day(held)}",
           text=outcome)


def referred(session: Session, office: Office, case: Case, command: Command, now: datetime,
             *, actor: str, inbound_id: int) -> None:
    """`#cafcass-referred` with `Recorded: ...`: the referral to CAFCASS has gone."""
    route = _route(office, case)
    referral = referral_of(case)
    if referral.referred_at is not None:
        raise CaseRefused("the referral to CAFCASS is already recorded")
    missing = _unmet(session, case, route)
    if missing:
        raise CaseRefused("a CAFCASS referral cannot be recorded yet: " + "; ".join(missing))
    text = (command.fields.get("recorded") or command.arg or "").strip()
    if route.referral.record_step and not text:
        raise CaseRefused(f"the policy asks you to {route.referral.record_step[0].lower()}"
                          f"{route.referral.record_step[1:]}: add a line Recorded: and the "
                          "words you wrote there")
    referral.referred_at, referral.referred_by, referral.step_text = now, actor, text or None
    session.add(case)
    record(session, case, "cafcass_referred", now, actor=actor, inbound_id=inbound_id,
           summary="Referred to CAFCASS by the IRO", **({"text": text} if text else {}))
    told = people_for(office, case, list(route.referral.notify))
    if told:
        copied = [p for p in people_for(office, case, list(route.referral.cc))
                  + iro_of(office, case) if p.email not in {t.email for t in told}]
        send(session, office, case, template="cafcass_referred_notice",
             context=_context(session, office, case, route, recipient_name=greeting(told),
                              policy_quote=route.referral.policy),
             to=told, cc=copied, purpose="cafcass_referred_notice", key="cafcass_referred",
             now=now, working_hours=True, automated=True)


def _unmet(session: Session, case: Case, route: CafcassRoute) -> list[str]:
    """Each prerequisite not yet met, in words that say what to do."""
    referral = referral_of(case)
    considered = referral.considered_at is not None or session.exec(select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "cafcass")).first() is not None
    missing = []
    for prerequisite in route.prerequisites:
        if prerequisite.action == "meeting" and referral.meeting_held_on is None:
            missing.append(f"{prerequisite.text} must first be recorded as held: reply "
                           "#cafcass-meeting with the date it was held and an Outcome: line")
        elif prerequisite.action == "notify" and not considered:
            missing.append(f"first, {prerequisite.text[0].lower()}{prerequisite.text[1:]}: "
                           "reply #cafcass with your reasons")
    return missing


def _context(session: Session, office: Office, case: Case, route: CafcassRoute,
             **extra: object) -> dict[str, object]:
    referral = referral_of(case)
    meetings = _meetings(route)
    return case_context(
        session, office, case, office.ladder_of(case),
        meeting_text=meetings[0].text if meetings else "",
        meeting_names=names(people_for(office, case, [r for m in meetings for r in m.roles])),
        held_text=office.calendar.format_day(referral.meeting_held_on)
        if referral.meeting_held_on else "",
        meeting_outcome=referral.meeting_outcome or "",
        record_step=route.referral.record_step or "",
        step_text=referral.step_text or "",
        **extra,
    )



def _day(office: Office, at: datetime) -> date:
    return at.astimezone(office.calendar.tz).date()
