"""Exchange's non-delivery report, marked by X-MS-Exchange-Message-Is-Ndr.

Exchange Online and Exchange Server stamp this header on the NDRs they generate, including
the ones whose report part a gateway has flattened into plain HTML.
"""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule


def check(mail: Mail) -> Hit | None:
    if mail.has("X-MS-Exchange-Message-Is-Ndr"):
        return Hit(AutomatedKind.BOUNCE, "X-MS-Exchange-Message-Is-Ndr header")
    return None


RULE = Rule("microsoft_ndr", "Exchange's non-delivery report header", check)
