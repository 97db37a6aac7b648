"""Precedence: bulk or junk (and X-Precedence): mail sent to many, such as newsletters
and system notices. Gmail's holiday reply also says Precedence: bulk, which is why the
out-of-office rules that read stronger signs run first; this header alone never makes an
out-of-office."""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule


def check(mail: Mail) -> Hit | None:
    for name in ("Precedence", "X-Precedence"):
        value = mail.header(name).lower()
        if value in ("bulk", "junk"):
            return Hit(AutomatedKind.BULK, f"{name}: {value}")
    return None


RULE = Rule("precedence", "Precedence: bulk or junk (mail sent to many)", check)
