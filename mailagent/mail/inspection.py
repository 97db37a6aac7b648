"""`mailagent inspect`: what mailagent makes of one email, as a JSON-ready dict, no database.

The contract, relied on by people and scripts:

    {"kind": "escalation" | "challenge" | "commendation" | "collective_alert" | "reply"
             | "command" | "autoreply" | "bounce" | "confirmation_request" | "read_receipt"
             | "feedback_report" | "bulk" | "unrecognised",
     "automated": bool,
     "rule": str,    the named rule that decided the kind (an automated-mail rule such as
                     "out_of_office_subject", or "tagged", "command", "reply", "unrecognised")
     "reason": str,  why that rule hit: the signal, never the email's own words
     "case_ref": str | null, "child_ref": str | null,
     "fields": {"child": ..., "plan": ..., "category": <category id>,
                "respond_by": {"date": "YYYY-MM-DD"} | {"working_days": N}, ...},
     "commands": [{"name": str, "arg": str | null, "fields": {...}}],
     "reply_text": str | null, "problems": [str],
     "notes": [str]}  how the reply text was read: written below the quote, or no words of
                      the sender's own outside it (then reply_text is the whole text with
                      the quoted part marked "> ")

(Named `inspection` because a module called `inspect` would shadow the standard library's.)
"""

from __future__ import annotations

from typing import Any

from mailagent.mail.classify import Classification, classify
from mailagent.mail.fields import RespondBy
from mailagent.mail.parse import parse_message
from mailagent.policy.vocabulary import Vocabulary


def inspect_bytes(raw: bytes, vocab: Vocabulary) -> dict[str, Any]:
    """The contract's JSON object for one raw email; never raises."""
    try:
        return as_contract(classify(parse_message(raw), vocab))
    except Exception as exc:  # a bug of ours must not hide what the email is
        return {
            "kind": "unrecognised",
            "automated": False,
            "rule": "error",
            "reason": "mailagent could not read this email",
            "case_ref": None,
            "child_ref": None,
            "fields": {},
            "commands": [],
            "reply_text": None,
            "problems": [f"mailagent could not read this email ({type(exc).__name__})"],
            "notes": [],
        }


def as_contract(c: Classification) -> dict[str, Any]:
    """A classification in the contract's shape."""
    return {
        "kind": c.kind,
        "automated": c.automated,
        "rule": c.rule,
        "reason": c.reason,
        "case_ref": c.case_ref,
        "child_ref": c.child_ref,
        "fields": {
            fid: value.as_json() if isinstance(value, RespondBy) else value
            for fid, value in c.fields.values.items()
        },
        "commands": [command.as_json() for command in c.commands],
        "reply_text": c.reply_text,
        "problems": list(c.problems),
        "notes": list(c.notes),
    }
