"""Who holds each role: the council's directory of people, teams and the IRO service.

Ladders name roles ("team_manager", "deputy_director"); the directory, kept by the council in
a TOML file or exported as CSV, says who holds them. A role is held either by a team (the
child's team: its social workers and management chain) or across the council (directors, the
IRO service, the Learning Academy). Three roles come from the case itself:

- `iro`: the case's IRO;
- `iro_manager`: that IRO's `manager`, else whoever holds `iro_team_manager`;
- `iro_deputy`: the `deputy` the directory names for that IRO (none if it names none);
- `social_worker`: the social worker named on the case, else the team's `social_worker`.

and one from the IRO service as a whole: `iro_team`, everyone the `iro` role lists (all the
IROs and CP chairs, as a collective alert's draft goes to them for comment).

An absent person's mail goes to their deputy (and on to the deputy's deputy if they are away
too); an absent person with no one to stand in holds no role until they are back, which is how
"there is no Service Manager" shows up (see a stage's `fallback_to` in `rules/README.md`).

The file formats are documented in `rules/README.md`; `rules/directory.example.toml` is one.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from mailagent.policy.schema import Identifier, Problem, Role, RulesError, validation_problems

SPECIAL_ROLES = frozenset({"iro", "iro_manager", "iro_deputy", "social_worker", "iro_team"})
CSV_COLUMNS = ("email", "name", "role", "team", "absent", "deputy", "manager")


def _email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain:
        raise ValueError(f"{value!r} is not an email address")
    return value


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Email = Annotated[str, AfterValidator(_email)]
OptionalEmail = Annotated[Email | None, BeforeValidator(_blank_is_none)]
Holders = Annotated[tuple[Email, ...], BeforeValidator(_as_list)]


class Person(BaseModel):
    """Someone in the directory; `role`, `team` and `acting_for` are filled in by `resolve`."""

    model_config = ConfigDict(frozen=True)

    name: str
    email: str
    absent: bool = False
    deputy: str | None = None
    manager: str | None = None
    role: str | None = None
    team: str | None = None
    acting_for: str | None = None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PersonEntry(_Model):
    name: str
    email: Email
    absent: bool = False
    deputy: OptionalEmail = None
    manager: OptionalEmail = None


class _Team(_Model):
    name: str | None = None
    roles: dict[Role, Holders] = {}


class _DirectoryFile(_Model):
    people: tuple[_PersonEntry, ...]
    roles: dict[Role, Holders] = {}
    teams: dict[Identifier, _Team] = {}


class _CsvRow(_Model):
    email: Email
    name: str
    role: Annotated[Role | None, BeforeValidator(_blank_is_none)] = None
    team: Annotated[Identifier | None, BeforeValidator(_blank_is_none)] = None
    absent: Annotated[bool, BeforeValidator(lambda v: v or False)] = False
    deputy: OptionalEmail = None
    manager: OptionalEmail = None


class Directory:
    """People and the roles they hold; build one with `load_directory`."""

    def __init__(self, data: _DirectoryFile) -> None:
        self._people = {p.email: Person(**p.model_dump()) for p in data.people}
        self._roles = data.roles
        self._teams = data.teams

    def roles(self) -> frozenset[str]:
        """Every role name the directory can resolve, for `rules check`."""
        team_roles = {role for team in self._teams.values() for role in team.roles}
        return frozenset(self._roles) | team_roles | SPECIAL_ROLES

    def teams(self) -> frozenset[str]:
        return frozenset(self._teams)

    def team_name(self, team: str) -> str:
        """The team's human name, or its id when it has none."""
        return self._teams[team].name or team

    def find_team(self, written: str) -> str | None:
        """The team an IRO means by `written`: its id or name, case and spacing ignored,
        or the one team whose name contains it ("North" -> "north")."""
        key = " ".join(written.lower().split())
        by_name = {tid: " ".join((t.name or tid).lower().split()) for tid, t in self._teams.items()}
        for tid, name in by_name.items():
            if key in (tid.lower(), name):
                return tid
        partial = [tid for tid, name in by_name.items() if key and key in name]
        return partial[0] if len(partial) == 1 else None

    def find_in_team(self, team: str, written: str) -> str | None:
        """The address of someone in `team` written as an address or a name (a social worker)."""
        key = " ".join(written.lower().split())
        members = {e for holders in self._teams[team].roles.values() for e in holders}
        for email in members:
            person = self._people.get(email)
            if key == email or (person and " ".join(person.name.lower().split()) == key):
                return email
        return None

    def person_by_email(self, email: str) -> Person | None:
        return self._people.get(email.strip().lower())

    def is_iro(self, email: str) -> bool:
        return self.holds(email, "iro")

    def holds(self, email: str, role: str) -> bool:
        """Whether this person holds `role` across the council or in any team."""
        email = email.strip().lower()
        return email in self._roles.get(role, ()) or any(
            email in team.roles.get(role, ()) for team in self._teams.values()
        )

    def team_of(self, email: str) -> str | None:
        """The first team in which this person holds a role (a social worker's team)."""
        email = email.strip().lower()
        for team_id, team in self._teams.items():
            if any(email in holders for holders in team.roles.values()):
                return team_id
        return None

    def resolve(
        self,
        role: str,
        *,
        team: str | None = None,
        iro_email: str | None = None,
        social_worker_email: str | None = None,
    ) -> list[Person]:
        """Who receives mail for `role` on a case of `team` now, deputies standing in."""
        if team is not None and team not in self._teams:
            raise ValueError(f"no team {team!r} in the directory")
        if role == "iro":
            emails: Iterable[str] = [iro_email] if iro_email else []
        elif role == "iro_manager":
            iro = self.person_by_email(iro_email) if iro_email else None
            if iro is not None and iro.manager:
                emails = [iro.manager]
            else:
                emails = self._roles.get("iro_team_manager", ())
        elif role == "iro_team":
            emails = self._roles.get("iro", ())
        elif role == "iro_deputy":
            iro = self.person_by_email(iro_email) if iro_email else None
            emails = [iro.deputy] if iro is not None and iro.deputy else []
        elif role == "social_worker" and social_worker_email:
            emails = [social_worker_email]
        elif team is not None and role in self._teams[team].roles:
            emails = self._teams[team].roles[role]
        else:
            emails = self._roles.get(role, ())
        found: dict[str, Person] = {}
        for email in (e.strip().lower() for e in emails):
            person = self._available(email)
            if person is not None:
                acting_for = email if person.email != email else None
                found.setdefault(
                    person.email,
                    person.model_copy(
                        update={"role": role, "team": team, "acting_for": acting_for}
                    ),
                )
        return list(found.values())

    def _available(self, email: str) -> Person | None:
        """This person, or whoever stands in while they are absent; None if no one can."""
        seen: set[str] = set()
        while email not in seen:
            seen.add(email)
            # Someone named on a case but not in the directory is taken to be at work.
            person = self._people.get(email) or Person(name=email, email=email)
            if not person.absent:
                return person
            if person.deputy is None:
                return None
            email = person.deputy
        return None


def load_directory(path: Path) -> Directory:
    """Read a directory from TOML (`*.toml`) or a CSV export; raise RulesError if it is wrong."""
    file = str(path)
    try:
        if path.suffix.lower() == ".csv":
            data, problems = _from_csv(path)
        else:
            with path.open("rb") as f:
                data = _DirectoryFile.model_validate(tomllib.load(f))
            problems = _unknown_people(
                data, file, [f"people[{i}]" for i in range(len(data.people))]
            )
    except FileNotFoundError:
        raise RulesError([Problem(file, "", "file is missing")]) from None
    except tomllib.TOMLDecodeError as e:
        raise RulesError([Problem(file, "", f"not valid TOML: {e}")]) from None
    except ValidationError as e:
        raise RulesError(validation_problems(file, e)) from None
    if problems:
        raise RulesError(problems)
    return Directory(data)


def _from_csv(path: Path) -> tuple[_DirectoryFile, list[Problem]]:
    """One row per role a person holds; a person with no role has one row with `role` empty."""
    people: dict[str, _PersonEntry] = {}
    first_line: dict[str, str] = {}
    roles: dict[str, list[str]] = {}
    teams: dict[str, dict[str, list[str]]] = {}
    problems: list[Problem] = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            return _DirectoryFile(people=()), [
                Problem(str(path), "", f"missing columns: {', '.join(missing)}")
            ]
        for line, row in enumerate(reader, start=2):
            try:
                entry = _CsvRow.model_validate({c: row[c] for c in CSV_COLUMNS})
            except ValidationError as e:
                problems += [
                    Problem(str(path), f"line {line}.{p.key}", p.message)
                    for p in validation_problems(str(path), e)
                ]
                continue
            person = _PersonEntry(**entry.model_dump(exclude={"role", "team"}))
            first_line.setdefault(entry.email, f"line {line}")
            if people.setdefault(entry.email, person) != person:
                problems.append(
                    Problem(str(path), f"line {line}", f"{entry.email} differs from an earlier row")
                )
            if entry.role is None:
                continue
            holders = teams.setdefault(entry.team, {}) if entry.team else roles
            holders.setdefault(entry.role, []).append(entry.email)
    data = _DirectoryFile.model_validate(
        {
            "people": list(people.values()),
            "roles": roles,
            "teams": {team: {"roles": team_roles} for team, team_roles in teams.items()},
        }
    )
    return data, problems + _unknown_people(data, str(path), list(first_line.values()))


def _unknown_people(data: _DirectoryFile, file: str, where: list[str]) -> list[Problem]:
    """Every address the directory uses must belong to one of its people.

    `where[i]` says where people[i] was written: "people[3]" in TOML, "line 5" in a CSV.
    """
    known = {p.email for p in data.people}
    used: list[tuple[str, str | None]] = []
    for at, p in zip(where, data.people, strict=True):
        used += [(f"{at}.deputy", p.deputy), (f"{at}.manager", p.manager)]
    for role, holders in data.roles.items():
        used += [(f"roles.{role}[{j}]", e) for j, e in enumerate(holders)]
    for team_id, team in data.teams.items():
        for role, holders in team.roles.items():
            used += [(f"teams.{team_id}.roles.{role}[{j}]", e) for j, e in enumerate(holders)]
    return [
        Problem(file, key, f"{email} is not in people")
        for key, email in used
        if email is not None and email not in known
    ]
