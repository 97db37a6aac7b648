"""Who an email goes to: roles resolved to people through the directory, for a case.

Roles come from the rules and resolve for the case's team; deputies stand in for people
who are away. The lists here are what every case email, and every check of who may act,
is built from."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mailagent.cases.office import Office
from mailagent.policy.directory import Person
from mailagent.policy.ladder import Stage
from mailagent.store.models import (
    LADDER_KINDS,
    Case,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipients:
    to: list[Person]
    cc: list[Person]

    @property
    def empty(self) -> bool:
        return not self.to


def people_for(office: Office, case: Case, roles: tuple[str, ...] | list[str]) -> list[Person]:
    """The people holding `roles` for this case, each once, deputies standing in."""
    found: dict[str, Person] = {}
    for role in roles:
        for person in _resolve(office, case, role):
            found.setdefault(person.email, person)
    return list(found.values())


def _resolve(office: Office, case: Case, role: str) -> list[Person]:
    team = case.team if case.team in office.directory.teams() else None
    people = office.directory.resolve(
        role, team=team, iro_email=case.iro_email,
        social_worker_email=case.fields.get("social_worker_email"),
    )
    return people


def stage_recipients(office: Office, case: Case, stage: Stage) -> Recipients:
    """To and CC for a stage's email; the IRO is always copied so the thread stays theirs.

    The addressee's deputy is on To while the addressee is away: because the directory
    says so (the absent person keeps a copy for their return), or because their
    out-of-office answered the stage's email (see `stand_ins`).
    """
    to = people_for(office, case, [stage.to])
    absent = [absent_person(office, p) for p in to if p.acting_for]
    to += [p for p in absent if p is not None]
    to += [p for p in stand_ins(office, case, stage) if p.email not in {t.email for t in to}]
    to_emails = {p.email for p in to}
    cc_roles = [*stage.cc, *senders_of(stage), "iro"]
    cc = [p for p in people_for(office, case, cc_roles) if p.email not in to_emails]
    return Recipients(to=to, cc=cc)


def senders_of(stage: Stage) -> list[str]:
    """Who sends the stage besides the IRO (the IRO's manager, at higher tiers in some
    councils): they are copied, and the email says it comes from them."""
    return [stage.sent_by] if stage.sent_by != "iro" else []


def stand_ins(office: Office, case: Case, stage: Stage) -> list[Person]:
    """Deputies standing in at `stage` for addressees whose out-of-office was seen."""
    found = []
    for standing in case.stand_ins:
        if standing.stage_id != stage.id:
            continue
        deputy = standing.deputy_email
        person = office.directory.person_by_email(deputy) or Person(name=deputy, email=deputy)
        found.append(person.model_copy(update={"role": stage.to,
                                               "acting_for": standing.absent_email}))
    return found


def absent_person(office: Office, deputy: Person) -> Person | None:
    """The absent person a deputy stands in for: they still get a copy for their return."""
    if deputy.acting_for is None:
        return None
    return office.directory.person_by_email(deputy.acting_for)


def names(people: list[Person]) -> str:
    return ", ".join(_label(p) for p in people)


def _label(person: Person) -> str:
    role = (person.role or "").replace("_", " ")
    if person.acting_for:
        return f"{person.name} (deputy, {role})" if role else f"{person.name} (deputy)"
    return f"{person.name} ({role})" if role else person.name


def iro_of(office: Office, case: Case) -> list[Person]:
    """The case's IRO (or their deputy) as a recipient."""
    return people_for(office, case, ["iro"])


def greeting(people: list[Person]) -> str:
    return " and ".join(p.name for p in people) or "colleague"


def name_of(office: Office, email: str) -> str:
    """A person's name from the directory, or their address."""
    person = office.directory.person_by_email(email)
    return person.name if person else email


def stage_addressee(office: Office, case: Case, sender: str) -> Person | None:
    """`sender` if they are (or stand in for) the person the current stage is sent to."""
    if not case.stage_id or case.kind not in LADDER_KINDS:
        return None
    stage = office.ladder_of(case).stage(case.stage_id)
    return next((p for p in stage_recipients(office, case, stage).to if p.email == sender), None)
