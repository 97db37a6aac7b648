"""RFC 3834's Auto-Submitted with any value but "no" or "auto-replied" (auto-generated,
auto-notified): mail a system made, not an answer from a person's mailbox.

It runs after the out-of-office rules, because Exchange marks its automatic replies
auto-generated: one that reaches us without its other signs still says what it is in its
subject.
"""

from __future__ import annotations

from mailagent.mail.automated.auto_replied import auto_submitted
from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule


def check(mail: Mail) -> Hit | None:
    value = auto_submitted(mail)
    if value and value != "no":
        return Hit(AutomatedKind.BULK, f"Auto-Submitted: {value}")
    return None


RULE = Rule("auto_generated", "RFC 3834 Auto-Submitted: auto-generated and other values "
            "(system mail)", check)
