"""Mail from a mailing list: List-Id (RFC 2919), any of the RFC 2369 List- headers, or
Precedence: list. A list sends to many; whoever posted to it was not answering us, even
when the post comes from a stage's addressee, so list mail is never an out-of-office and
never a response."""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule

LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Subscribe",
                "List-Owner", "List-Archive")


def check(mail: Mail) -> Hit | None:
    found = next((name for name in LIST_HEADERS if mail.has(name)), None)
    if found is not None:
        return Hit(AutomatedKind.BULK, f"{found} header")
    for name in ("Precedence", "X-Precedence"):
        if mail.header(name).lower() == "list":
            return Hit(AutomatedKind.BULK, f"{name}: list")
    return None


RULE = Rule("mailing_list", "mailing-list mail: List-Id, List-Unsubscribe and the other "
            "List- headers, Precedence: list", check)
