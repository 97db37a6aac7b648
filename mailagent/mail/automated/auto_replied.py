"""RFC 3834's Auto-Submitted: auto-replied: a responder answering one message, such as
a holiday reply (Sieve's vacation extension, RFC 5230, must send it) or Gmail's."""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule


def auto_submitted(mail: Mail) -> str:
    """The Auto-Submitted keyword ("auto-replied", "auto-generated" ...), "" if absent."""
    value = mail.header("Auto-Submitted").lower()
    return value.split(";", 1)[0].split("(", 1)[0].strip()


def check(mail: Mail) -> Hit | None:
    if auto_submitted(mail) == "auto-replied":
        return Hit(AutomatedKind.AUTOREPLY, "Auto-Submitted: auto-replied")
    return None


RULE = Rule("auto_replied", "RFC 3834 Auto-Submitted: auto-replied (a holiday or other "
            "automatic reply)", check)
