"""A collective alert before it is raised: the IRO team's comments on the draft, the
drafting IRO's revision, the Group Manager's agreement (naming whom it is raised with), and
sharing it with the Head of Service for Safeguarding and QA.

"The collective alert will initially be drafted by the IROs before being agreed and
finalised by the IRO Group Manager (with the input of all IROs). The IRO Group Manager will
share with the Safeguarding and Quality Assurance Head of Service before raising with the
relevant Head of Service or at Director level." (collective alerts protocol)
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailagent.cases import alert_progress
from mailagent.cases.alert_common import (
    AGREEMENT,
    COMMENT,
    CONSULTATION,
    DRAFT,
    HELD,
    RETURNED,
    REVISION,
    SHARED,
    SHARING,
    add_reply,
    alert_context,
    alert_of,
    consulted,
    day_text,
    deciders,
    drafter,
    edit_fields,
    emails_of,
    greet,
    local_day,
    person,
    raised_with,
    role_label,
    shared_with,
)
from mailagent.cases.notify import send
from mailagent.cases.office import Office
from mailagent.cases.outcome import CaseRefused
from mailagent.cases.recipients import names
from mailagent.cases.timeline import record
from mailagent.mail.classify import Classification
from mailagent.mail.quotes import excerpt
from mailagent.policy.vocabulary import name_key
from mailagent.store.models import Case

_LINKING_WORDS = ("for", "of", "in", "the", "team")


def consult(session: Session, office: Office, case: Case, now: datetime) -> None:
    """The new draft goes to the IRO team for comment (or, with no one to consult, straight
    to the Group Manager)."""
    rules = office.rules.collective_alert
    team = consulted(office, case)
    if not team:
        ask_for_agreement(session, office, case, now)
        return
    cal = office.calendar
    start = local_day(office, cal.next_sending_time(now))
    alert = alert_of(case)
    alert.comments_due = cal.add_working_days(start, rules.comment_working_days)
    case.stage_id, case.stage_state = DRAFT, CONSULTATION
    case.stage_deadline = cal.end_of_day(alert.comments_due)
    session.add(case)
    due = day_text(office, alert.comments_due)
    record(session, case, "consultation", now, actor=case.iro_email,
           summary=f"Draft sent to the IRO team for comment by end of {due}",
           to=sorted(emails_of(team)))
    copied = drafter(office, case) + deciders(office, case)
    send(session, office, case, template=rules.templates.draft,
         context=alert_context(office, case, recipient_name="colleagues"),
         to=team, cc=copied, purpose="collective_draft", key="draft", now=now,
         working_hours=True)


def comment(session: Session, office: Office, case: Case, sender: str, text: str,
            now: datetime, inbound_id: int) -> str:
    """A colleague's comment on the draft: gathered; once the drafting IRO or the Group
    Manager holds the draft, passed to them at once."""
    add_reply(session, case, author=sender, step=COMMENT, text=text, now=now,
              inbound_id=inbound_id)
    name = person(office, sender).name
    record(session, case, "comment", now, actor=sender, inbound_id=inbound_id,
           summary=f"Comment on the draft from {name}")
    holder = {REVISION: drafter(office, case), AGREEMENT: deciders(office, case)}.get(
        case.stage_state or "")
    if holder:
        _pass_on(session, office, case, holder, drafter(office, case), sender, text, now,
                 inbound_id, why="comment")
    return f"{case.ref}: comment from {name}"


def close_comments(session: Session, office: Office, case: Case, now: datetime) -> str:
    """The time for comments has ended: the comments go to the drafting IRO to revise."""
    rules = office.rules.collective_alert
    case.stage_state = REVISION
    case.stage_deadline = None
    session.add(case)
    count = sum(r.step == COMMENT for r in alert_of(case).replies)
    record(session, case, "comments_closed", now,
           summary=f"Time for comments ended with {count} comment(s); sent to the drafting "
                   "IRO to revise")
    iro = drafter(office, case)
    send(session, office, case, template=rules.templates.comments,
         context=alert_context(office, case, recipient_name=greet(iro)),
         to=iro, purpose="collective_comments", key="comments", now=now, working_hours=True,
         automated=True)
    return f"{case.ref}: comments sent to the drafting IRO"


def revise(session: Session, office: Office, case: Case, cls: Classification, now: datetime,
           *, actor: str) -> None:
    """`#revised`: the drafting IRO's revision goes to the Group Manager for agreement."""
    changed = edit_fields(case, cls)
    alert_of(case).revised_at = now
    case.stage_deadline = None
    session.add(case)
    what = f"changed: {', '.join(changed)}" if changed else "no changes"
    record(session, case, "revised", now, actor=actor,
           summary=f"Revised by the drafting IRO ({what}) and sent for agreement")
    ask_for_agreement(session, office, case, now)


def ask_for_agreement(session: Session, office: Office, case: Case, now: datetime) -> None:
    rules = office.rules.collective_alert
    case.stage_id, case.stage_state = DRAFT, AGREEMENT
    session.add(case)
    managers = deciders(office, case)
    send(session, office, case, template=rules.templates.agreement,
         context=alert_context(office, case, recipient_name=greet(managers)),
         to=managers, cc=drafter(office, case), purpose="collective_agreement",
         key="agreement", now=now, working_hours=True)


def agree(session: Session, office: Office, case: Case, cls: Classification, arg: str,
          now: datetime, *, actor: str) -> None:
    """`#agree Head of Service` (or `#agree Director`): agreed and finalised, to be raised
    with the one the Group Manager names; shared first."""
    role, team = choose_recipient(office, case, arg)
    edit_fields(case, cls)
    alert = alert_of(case)
    alert.agreed_by, alert.agreed_at, alert.raise_to = actor, now, role
    if team is not None:
        case.team = team
    session.add(case)
    to = raised_with(office, case)
    record(session, case, "agreed", now, actor=actor,
           summary=f"Agreed by {person(office, actor).name}, to be raised with the "
                   f"{role_label(role)} ({names(to)})")
    share(session, office, case, now)


def choose_recipient(office: Office, case: Case, arg: str) -> tuple[str, str | None]:
    """The role (one of `raised_with`) and the team, if one is named, `#agree` names."""
    rules = office.rules.collective_alert
    wanted = name_key(arg or "")
    choices = " or ".join(role_label(r) for r in rules.raised_with)
    example = f"#agree {role_label(rules.raised_with[0])}"
    found: dict[str, str] = {}
    for role in rules.raised_with:
        for written in (role_label(role), role.replace("_", " ")):
            key = name_key(written)
            if wanted == key or wanted.startswith(key + " "):
                found[role] = wanted[len(key):]
    if len(found) > 1:  # "Head of Service" also starts "Head of Service ..."; keep the longest
        longest = max(found, key=lambda r: len(role_label(r)))
        found = {longest: found[longest]}
    if not found:
        raise CaseRefused(f"#agree needs whom the alert is raised with: the {choices} "
                          f"(one of them), e.g. {example}")
    ((role, rest),) = found.items()
    if any(name_key(role_label(r)) in rest for r in rules.raised_with if r != role):
        raise CaseRefused(f"an alert is raised with one of the {choices}, not both")
    team = _team_named(office, rest)
    held_by = team or (case.team if case.team in office.directory.teams() else None)
    if not office.directory.resolve(role, team=held_by, iro_email=case.iro_email):
        teams = sorted(office.directory.teams())
        hint = (f"; name the team, e.g. #agree {role_label(role)} for "
                f"{office.directory.team_name(teams[0])} (the teams: "
                f"{', '.join(office.directory.team_name(t) for t in teams)})") if teams else ""
        raise CaseRefused(f"no one holds the {role_label(role)} role for this alert{hint}")
    return role, team


def _team_named(office: Office, rest: str) -> str | None:
    """The team after the role ("for South"); words that name no team are refused only
    when they were introduced as one ("for ...")."""
    words = rest.split()
    introduced = bool(words) and words[0] in _LINKING_WORDS
    while words and words[0] in _LINKING_WORDS:
        words.pop(0)
    team = office.directory.find_team(" ".join(words)) if words else None
    if team is None and introduced and words:
        teams = ", ".join(office.directory.team_name(t) for t in sorted(office.directory.teams()))
        raise CaseRefused(f"'{' '.join(words)}' is not a team in the directory (the teams: "
                          f"{teams})")
    return team


def share(session: Session, office: Office, case: Case, now: datetime) -> None:
    """Shared with the Head of Service for Safeguarding and QA, who is told when it will be
    raised and with whom; raised then by the sweep (at once when there is no one to share
    it with)."""
    rules = office.rules.collective_alert
    told = shared_with(office, case)
    cal = office.calendar
    sending = cal.next_sending_time(now)
    alert = alert_of(case)
    case.stage_id, case.stage_state = SHARED, SHARING
    alert.raise_on = cal.add_working_days(local_day(office, sending), rules.share_working_days)
    if not told:
        session.add(case)
        alert_progress.raise_alert(session, office, case, now, actor=alert.agreed_by)
        return
    alert.shared_at = sending
    session.add(case)
    to = raised_with(office, case)
    on = day_text(office, alert.raise_on)
    record(session, case, "shared", now, actor=alert.agreed_by,
           summary=f"Shared with {names(told)} before it is raised with {names(to)} on {on}",
           to=sorted(emails_of(told)))
    send(session, office, case, template=rules.templates.shared,
         context=alert_context(office, case, recipient_name=greet(told),
                               raised_with_names=names(to)),
         to=told, cc=deciders(office, case), purpose="collective_shared", key="shared",
         now=now, working_hours=True)


def shared_comment(session: Session, office: Office, case: Case, sender: str, text: str,
                   now: datetime, inbound_id: int) -> str:
    """The Head of Service for Safeguarding and QA answered before it was raised: raising
    waits for the Group Manager, who is sent what they wrote."""
    add_reply(session, case, author=sender, step=COMMENT, text=text, now=now,
              inbound_id=inbound_id)
    name = person(office, sender).name
    if case.stage_state == SHARING:
        case.stage_state = HELD
        alert_of(case).held_at = now
        session.add(case)
    record(session, case, "comment", now, actor=sender, inbound_id=inbound_id,
           summary=f"Comment from {name} before raising; raising waits for the Group Manager")
    _pass_on(session, office, case, deciders(office, case), drafter(office, case), sender,
             text, now, inbound_id, why="held")
    return f"{case.ref}: {name} commented; raising held"


def return_to_iros(session: Session, office: Office, case: Case, now: datetime, *,
                   actor: str, reason: str | None) -> None:
    """`#return <reason>`: the draft goes back to the IROs, not raised."""
    case.stage_id = case.stage_state = RETURNED
    case.status, case.closed_at, case.stage_deadline = "returned", now, None
    session.add(case)
    record(session, case, "returned", now, actor=actor,
           summary="Returned to the IROs" + (f": {reason}" if reason else ""))
    iro = drafter(office, case)
    context = alert_context(office, case, recipient_name=greet(iro),
                            reason=reason or "no reason given")
    send(session, office, case, template=office.rules.collective_alert.templates.returned,
         context=context, to=iro, purpose="collective_returned", key="returned", now=now,
         automated=True)


def _pass_on(session: Session, office: Office, case: Case, to: list, cc: list, sender: str,
             text: str, now: datetime, inbound_id: int, *, why: str) -> None:
    alert_progress.tell(session, office, case, to, cc, now, key=f"reply:{inbound_id}",
                        why=why, author=sender, reply_text=excerpt(text, 4000),
                        with_plan=False)
