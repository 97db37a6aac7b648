"""Mail from a mail server itself: MAILER-DAEMON or postmaster in From, Sender or the
return path. Servers send these names only with delivery failures and warnings."""

from __future__ import annotations

import re

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule

_DAEMON = re.compile(r"^(?:mailer-daemon|mail-daemon|mailerdaemon|postmaster)(?:@|$)", re.I)


def is_daemon(address: str) -> bool:
    return bool(_DAEMON.match(address))


def check(mail: Mail) -> Hit | None:
    for where, address in (("From", mail.sender), ("Sender", mail.header("Sender")),
                           ("Return-Path", mail.return_path)):
        address = address.rsplit("<", 1)[-1].strip("<> ")
        if address and is_daemon(address):
            return Hit(AutomatedKind.BOUNCE, f"{where} is a mail server (MAILER-DAEMON or "
                                             "postmaster)")
    return None


RULE = Rule("mailer_daemon", "sent by a mail server (MAILER-DAEMON, postmaster)", check)
