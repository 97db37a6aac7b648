"""Who may do what by email: named rules, each giving its reason, whatever matched the mail.

A case is found by a reference, a marker or a thread's Message-IDs, all of which a
stranger can copy; what an email may do is decided here, from who sent it, and never from
how it was matched. The rules, in the order mail meets them:

- `own-mail`: our own emails fed back (a list or a copy that includes the shared mailbox)
  change nothing; mail claiming our address that we did not send is quarantined.
- `authenticated`: mail from someone in the directory must carry the receiving server's
  verdict on the sender, as strict as `[authentication] require` says (`mail.authentication`).
- `directory`: mail from outside the directory is kept and quarantined, never answered, so
  nothing confirms to a stranger that a case exists.
- `opens-work`: only the roles a tag names (`opened_by` in rules/tags.toml, the IROs) open
  cases.
- `on-the-case`: mail about a case must come from someone on it: its IRO, the IRO's manager
  or named deputy, anyone the case has written to, or the current stage's addressee.
- `commands`: each command says who may use it (`by` in rules/commands.toml, the case's IRO,
  the IRO's manager and named deputy); a stage's `resolved_by` says who resolves it.
- `answers-stage`: only the stage's addressee, or their deputy, answers a stage; anyone
  else on the case writes a reply, which is recorded and is not the stage's response.

Each decision names its rule and reason; refusals are recorded on the case or as the
quarantine reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from mailagent.cases.office import Office
from mailagent.cases.recipients import people_for, stage_addressee
from mailagent.mail.authentication import sender_verdict
from mailagent.mail.fields import Command
from mailagent.mail.parse import InboundMessage
from mailagent.policy.directory import Person
from mailagent.store.models import Case, Outbound, Participant


@dataclass(frozen=True)
class Decision:
    """A rule's answer: allowed or not, the rule's name, and why."""

    allowed: bool
    rule: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}"


def _allow(rule: str, reason: str = "") -> Decision:
    return Decision(True, rule, reason)


def _refuse(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


def own_mail(session: Session, office: Office, msg: InboundMessage) -> Decision | None:
    """`own-mail`: None for someone else's email; else whether it is one we sent."""
    ids = [i for i in (msg.message_id, msg.original_message_id) if i]
    if ids and session.exec(select(Outbound.id).where(Outbound.message_id.in_(ids))).first():
        return _allow("own-mail", "an email the agent sent, come back")
    if (msg.from_addr or "").lower() == office.sender.address.lower():
        return _refuse("own-mail", "from the agent's own address, but not an email it sent")
    return None


def authenticated(office: Office, msg: InboundMessage) -> Decision:
    """`authenticated`: whether the receiving server vouches for a directory sender."""
    settings = office.settings.authentication
    if settings.require == "off":
        return _allow("authenticated", "not checked ([authentication] require = off)")
    verdict = sender_verdict(msg, settings)
    if verdict.result == "pass" or (verdict.result == "none" and settings.require == "no-fail"):
        return _allow("authenticated", verdict.reason)
    what = "failed the mail server's checks" if verdict.result == "fail" else (
        "was not vouched for by a trusted mail server")
    return _refuse("authenticated", f"the sender {what}: {verdict.reason}")


def in_directory(office: Office, sender: str) -> Decision:
    """`directory`: only people the council's directory names are heard."""
    if office.directory.person_by_email(sender) is None:
        return _refuse("directory", "the sender is not in the directory")
    return _allow("directory")


def may_open(office: Office, kind: str, sender: str) -> Decision:
    """`opens-work`: the tag's `opened_by` roles (held anywhere in the directory)."""
    roles = office.vocabulary.tags[kind].opened_by
    if any(office.directory.holds(sender, role) for role in roles):
        return _allow("opens-work")
    label = office.vocabulary.tags[kind].label
    return _refuse("opens-work", f"only {_roles(roles)} may open a {label.lower()}")


def on_the_case(session: Session, office: Office, case: Case, sender: str) -> Decision:
    """`on-the-case`: the case's own people, whoever matched the mail to it."""
    if sender in _case_authorities(office, case):
        return _allow("on-the-case", "the case's IRO, their manager or deputy")
    known = session.exec(
        select(Participant.id).where(Participant.case_id == case.id, Participant.email == sender)
    ).first()
    if known is not None:
        return _allow("on-the-case", "someone the case has written to")
    if stage_addressee(office, case, sender) is not None:
        return _allow("on-the-case", "the current stage's addressee")
    return _refuse("on-the-case", f"the sender takes no part in {case.ref}")


def may_command(office: Office, case: Case, command: Command, sender: str) -> Decision:
    """`commands`: who the rules let use this command on this case."""
    rule = office.vocabulary.commands.get(command.name)
    roles = list(rule.by) if rule else ["iro"]
    if command.name == "resolved" and case.stage_id and case.ladder_id is not None:
        roles = list(office.ladder_of(case).stage(case.stage_id).resolved_by)
    allowed = {p.email for p in people_for(office, case, roles)}
    if "iro" in roles:
        allowed.add(case.iro_email)  # the IRO keeps their case while their deputy stands in
    if sender in allowed:
        return _allow("commands")
    return _refuse("commands", f"only {_roles(roles)} can use #{command.name} on {case.ref}")


def stage_answerer(office: Office, case: Case, sender: str) -> Person | None:
    """`answers-stage`: the sender as the current stage's addressee (or their deputy)."""
    return stage_addressee(office, case, sender)


def _case_authorities(office: Office, case: Case) -> set[str]:
    people = people_for(office, case, ["iro", "iro_manager", "iro_deputy"])
    return {case.iro_email, *(p.email for p in people)}


def _roles(roles: tuple[str, ...] | list[str]) -> str:
    words = {"iro": "the case's IRO", "iro_manager": "the IRO's manager",
             "iro_deputy": "the IRO's deputy"}
    named = [words.get(r, r.replace("_", " ")) for r in roles]
    return ", ".join(named[:-1]) + f" or {named[-1]}" if len(named) > 1 else named[0]
