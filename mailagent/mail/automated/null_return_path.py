"""A null return path (Return-Path: <>): the sending server wants no bounce back, which
only machines ask for (RFC 5321 section 4.5.5; RFC 3834 recommends it for automatic
replies). With no other sign of what it is, such mail is a system notice."""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule


def check(mail: Mail) -> Hit | None:
    if mail.has("Return-Path") and mail.return_path == "":
        return Hit(AutomatedKind.BULK, "null return path (Return-Path: <>)")
    return None


RULE = Rule("null_return_path", "a null return path (no bounce wanted: machine mail)", check)
