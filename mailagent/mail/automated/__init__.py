"""Mail that no person wrote: out-of-office replies, bounces, challenge-response requests,
read receipts, complaint reports, mailing-list and bulk mail.

None of it may answer a stage or be answered by us (that is how mail loops start). What
each kind means, and what mailagent does with it, is in `AutomatedKind`.

The decision is a table of named rules, one module each, tried in order; the first that
hits decides the kind and records why (`Automated.rule`, `.reason`, shown by `mailagent
inspect`). The order is the point: definite reports before wording, challenge-response
before the bounce and auto-reply signs such requests also carry, mailing lists before
any out-of-office rule (list mail is never an out-of-office), the out-of-office signs
before Precedence: bulk (Gmail's holiday reply carries both), and the weak signs (a null
return path) last.

`bounce_details` reads a bounce for what the IRO must be told: which of our messages did
not arrive and to whom.
"""

from __future__ import annotations

from mailagent.mail.automated import (
    auto_generated,
    auto_replied,
    bounce_text,
    challenge_response,
    delivery_report,
    mailer_daemon,
    mailing_list,
    microsoft_autoreply,
    microsoft_ndr,
    null_return_path,
    out_of_office_body,
    out_of_office_subject,
    precedence,
    read_receipt_subject,
    vendor_autoreply,
)
from mailagent.mail.automated.base import Automated, AutomatedKind, Mail, Rule
from mailagent.mail.automated.bounces import BounceDetails, bounce_details
from mailagent.mail.parse import InboundMessage

__all__ = [
    "RULES", "Automated", "AutomatedKind", "BounceDetails", "Rule", "bounce_details",
    "detect_automated",
]

RULES: tuple[Rule, ...] = (
    delivery_report.RULE,
    microsoft_ndr.RULE,
    challenge_response.RULE,
    mailer_daemon.RULE,
    bounce_text.RULE,
    mailing_list.RULE,
    auto_replied.RULE,
    microsoft_autoreply.RULE,
    vendor_autoreply.RULE,
    out_of_office_subject.RULE,
    precedence.RULE,
    out_of_office_body.RULE,
    read_receipt_subject.RULE,
    auto_generated.RULE,
    null_return_path.RULE,
)


def detect_automated(msg: InboundMessage) -> Automated | None:
    """What kind of machine-sent mail this is, which rule decided and why; None for a person."""
    mail = Mail(msg)
    for rule in RULES:
        hit = rule.check(mail)
        if hit is not None:
            return Automated(hit.kind, rule.name, hit.reason)
    return None
