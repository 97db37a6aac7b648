"""Exchange's mark on mail made by a mailbox rule: X-MS-Exchange-Inbox-Rules-Loop, which
Exchange adds to every automatic reply (the out-of-office is one) and which names the
mailbox that answered."""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule


def check(mail: Mail) -> Hit | None:
    if mail.has("X-MS-Exchange-Inbox-Rules-Loop"):
        return Hit(AutomatedKind.AUTOREPLY, "X-MS-Exchange-Inbox-Rules-Loop header")
    return None


RULE = Rule("microsoft_autoreply", "Exchange's mailbox-rule header on automatic replies",
            check)
