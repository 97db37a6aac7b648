"""What an inbound email is: a tagged email that opens work, a command, a reply, or machine mail.

The decision is a short list of named rules, tried in order (Mailman's style): the first
that hits decides the kind and records why. Everything the later steps need is gathered
first, once, as `Facts`: the references, the new text, the commands, the tag. No database
here; `mailagent.cases.match` finds the case from what this module extracts.

The kinds, and when each applies:

- autoreply / bounce / confirmation_request / read_receipt / feedback_report / bulk: mail
  no person wrote, one kind for each thing mailagent does with it (what each means is in
  `mailagent.mail.automated.AutomatedKind`; the rule that decided is recorded). Machine mail
  never answers a stage, never carries commands, and is never answered.
- escalation / challenge / commendation / collective_alert: a subject tag, on an email
  that has no case reference (subject or body marker) and does not answer another email.
  A forward (FW:) with a tag opens work: forwarding the thread is how IROs escalate.
- command: one or more known #commands on lines of their own, or in the subject. A tag on
  an email that already belongs to a case means its command (e.g. [ESCALATE] -> #escalate).
- reply: a person answering: In-Reply-To/References, a reply or forward prefix, quoted
  history, or a case reference; whether or not the case is known. A tagged answer with no
  case reference (a manager's Reply All to the IRO's tagged email, or the IRO answering our
  request to correct one) is a reply that keeps its `tag` and `fields`, so the pipeline
  can tell which it is from the thread.
- unrecognised: none of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mailagent.mail.automated import Automated, AutomatedKind, bounce_details, detect_automated
from mailagent.mail.fields import (
    Command,
    CommandsResult,
    FieldsResult,
    find_child_ref,
    missing_or_wrong,
    parse_commands,
    parse_fields,
)
from mailagent.mail.parse import InboundMessage
from mailagent.mail.quotes import ReplySplit, split_reply
from mailagent.mail.references import (
    has_forward_prefix,
    has_reply_prefix,
    references_for,
)
from mailagent.policy.vocabulary import TAG_KINDS, Vocabulary

AUTOMATED_KINDS = tuple(kind.value for kind in AutomatedKind)
KINDS = (
    "escalation", "challenge", "commendation", "collective_alert",
    "reply", "command", *AUTOMATED_KINDS, "unrecognised",
)
_RETURNS_OUR_EMAIL = (AutomatedKind.BOUNCE, AutomatedKind.CONFIRMATION_REQUEST)
_TAG_RE = re.compile(
    r"\[\s*#?(?P<bracket>[A-Za-z][\w-]*)\s*\]|(?<![\w#&])#(?P<hash>[A-Za-z][\w-]*)"
)


@dataclass(frozen=True)
class Classification:
    """What an email is (one of KINDS) and everything read from it for the later steps."""

    kind: str
    automated: bool
    automated_reason: str | None
    tag: str | None  # the kind of work the subject tag names, whether or not it opened work
    case_ref: str | None  # marker_ref, else subject_ref
    marker_ref: str | None
    subject_ref: str | None
    child_ref: str | None
    fields: FieldsResult
    commands: tuple[Command, ...]
    # The sender's own words (fields and commands are read from these alone); when none
    # are found outside the quoted history, the whole text with the history marked "> ",
    # and `notes` says so. None for machine mail.
    reply_text: str | None
    problems: tuple[str, ...]
    reasons: tuple[str, ...]  # "rule: why", for the rule that decided the kind
    rule: str = ""  # the rule that decided: an automated-mail rule, or one of RULES below
    reason: str = ""  # why it hit, naming signals, never the email's own words
    automated_kind: AutomatedKind | None = None
    notes: tuple[str, ...] = ()  # how the reply text was read, for a person to know
    answering: bool = False  # In-Reply-To/References (not a forward) or a reply prefix
    forwarded: bool = False


@dataclass(frozen=True)
class Facts:
    """What the rules decide on."""

    msg: InboundMessage
    automated: Automated | None
    tag: str | None
    subject_ref: str | None
    marker_ref: str | None
    split: ReplySplit
    commands: CommandsResult
    answering: bool
    forwarded: bool
    problems: tuple[str, ...] = ()

    @property
    def case_ref(self) -> str | None:
        return self.marker_ref or self.subject_ref


@dataclass(frozen=True)
class Decision:
    kind: str
    reason: str


@dataclass(frozen=True)
class Rule:
    """A named check: `decide` gives the kind and why, or None to pass to the next rule."""

    name: str
    description: str
    decide: Callable[[Facts], Decision | None]


def _automated(f: Facts) -> Decision | None:
    if f.automated is not None:
        return Decision(f.automated.kind.value, f.automated.reason)
    return None


def _opens_work(f: Facts) -> Decision | None:
    if f.tag is None or f.case_ref is not None or f.answering:
        return None
    how = "a forward" if f.forwarded else "a new email"
    return Decision(f.tag, f"subject tag on {how} with no case reference")


def _command(f: Facts) -> Decision | None:
    if not f.commands.commands:
        return None
    return Decision("command", ", ".join(f"#{c.name}" for c in f.commands.commands))


def _reply(f: Facts) -> Decision | None:
    signals = [
        name
        for name, present in (
            ("In-Reply-To/References", bool(f.msg.in_reply_to or f.msg.references)),
            ("reply prefix", has_reply_prefix(f.msg.subject)),
            ("forward prefix", f.forwarded),
            ("quoted history", f.split.quoted),
            ("case reference", f.case_ref is not None),
        )
        if present
    ]
    return Decision("reply", ", ".join(signals)) if signals else None


def _unrecognised(f: Facts) -> Decision:
    return Decision("unrecognised", "no tag, no command, not a reply")


RULES: tuple[Rule, ...] = (
    Rule("automated", "mail no person wrote (mailagent.mail.automated decides)", _automated),
    Rule("tagged", "a subject tag on an email that is not about a case opens work", _opens_work),
    Rule("command", "#commands on lines of their own, or in the subject", _command),
    Rule("reply", "a person answering an email or writing about a case", _reply),
    Rule("unrecognised", "none of the above", _unrecognised),
)


def classify(msg: InboundMessage, vocab: Vocabulary) -> Classification:
    """Say what `msg` is, which case it names, and what its sender wrote."""
    facts = gather_facts(msg, vocab)
    rule, decision = next((r, d) for r in RULES if (d := r.decide(facts)) is not None)
    rule_name = facts.automated.rule if facts.automated else rule.name
    human = facts.automated is None
    fields = parse_fields(facts.split.text, vocab) if human else FieldsResult()
    problems = [*msg.problems, *facts.problems, *facts.commands.problems]
    if decision.kind in TAG_KINDS:
        problems += missing_or_wrong(fields, vocab, decision.kind) + list(fields.corrections)
    if decision.kind == "unrecognised":
        problems.append(_explain_unrecognised(vocab))
    return Classification(
        kind=decision.kind,
        automated=not human,
        automated_reason=facts.automated.reason if facts.automated else None,
        tag=facts.tag,
        case_ref=facts.case_ref,
        marker_ref=facts.marker_ref,
        subject_ref=facts.subject_ref,
        child_ref=_child_ref(facts, fields, vocab) if human else None,
        fields=fields,
        commands=facts.commands.commands if human else (),
        reply_text=facts.split.for_record if human else None,
        problems=tuple(dict.fromkeys(problems)),
        reasons=(f"{rule_name}: {decision.reason}",),
        rule=rule_name,
        reason=decision.reason,
        automated_kind=facts.automated.kind if facts.automated else None,
        notes=facts.split.notes if human else (),
        answering=facts.answering,
        forwarded=facts.forwarded,
    )


def gather_facts(msg: InboundMessage, vocab: Vocabulary) -> Facts:
    """Everything the rules look at, worked out once."""
    automated = detect_automated(msg)
    forwarded = has_forward_prefix(msg.subject)
    answering = has_reply_prefix(msg.subject) or (
        bool(msg.in_reply_to or msg.references) and not forwarded
    )
    subject_ref = _subject_ref(msg, automated, vocab)
    refs = references_for(vocab.ref_prefixes)
    marker_ref = refs.find_marker(msg.text) or refs.find_marker(msg.html)
    if automated is not None:  # machine mail: no text, tag or commands to read
        return Facts(msg, automated, None, subject_ref, marker_ref, ReplySplit("", False),
                     CommandsResult(), answering, forwarded)
    problems = _ref_conflict(subject_ref, marker_ref)
    tag = find_tag(msg.subject, vocab)
    split = split_reply(msg.text, msg.html)
    commands = parse_commands(split.text, msg.subject, vocab)
    commands = _add_tag_command(tag, marker_ref or subject_ref, commands, vocab, problems)
    return Facts(msg, automated, tag, subject_ref, marker_ref, split, commands, answering,
                 forwarded, tuple(problems))


def _subject_ref(msg: InboundMessage, automated: Automated | None,
                 vocab: Vocabulary) -> str | None:
    """The subject's case reference; for a bounce or a challenge-response request, the
    subject of our email that came back with it."""
    refs = references_for(vocab.ref_prefixes)
    ref = refs.find_in_subject(msg.subject)
    if ref is None and automated is not None and automated.kind in _RETURNS_OUR_EMAIL:
        ref = refs.find_in_subject(bounce_details(msg).original_subject)
    return ref


def _ref_conflict(subject_ref: str | None, marker_ref: str | None) -> list[str]:
    if subject_ref and marker_ref and subject_ref != marker_ref:
        return [
            f"the subject names {subject_ref} but the quoted email is about {marker_ref}; "
            f"{marker_ref} was used"
        ]
    return []


def find_tag(subject: str, vocab: Vocabulary) -> str | None:
    """The kind of work named by the first tag in the subject: [ESCALATE] or #escalate."""
    for match in _TAG_RE.finditer(subject or ""):
        kind = vocab.tag_kind(match["bracket"] or match["hash"])
        if kind is not None:
            return kind
    return None


def _add_tag_command(
    tag: str | None,
    case_ref: str | None,
    found: CommandsResult,
    vocab: Vocabulary,
    problems: list[str],
) -> CommandsResult:
    """On an email about a case, a tag means its command, or nothing (and we say so)."""
    if tag is None or case_ref is None:
        return found
    command = vocab.tags[tag].command
    if command is None:
        problems.append(
            f"the {vocab.tags[tag].label} tag was not used because this email is about "
            f"{case_ref}: to raise something new, send a new email rather than a reply"
        )
        return found
    if any(c.name == command for c in found.commands):
        return found
    return CommandsResult((*found.commands, Command(command)), found.problems)


def _child_ref(facts: Facts, fields: FieldsResult, vocab: Vocabulary) -> str | None:
    child = fields.values.get("child")
    if isinstance(child, str):
        return child
    return find_child_ref(vocab, facts.msg.subject, facts.split.text, facts.msg.text)


def _explain_unrecognised(vocab: Vocabulary) -> str:
    examples = ", ".join(f"[{rule.words[0].upper()}]" for rule in vocab.tags.values())
    return (
        "this email has no tag, no case reference and does not answer another email: "
        f"to raise an issue, put a tag such as {examples} in the subject"
    )
