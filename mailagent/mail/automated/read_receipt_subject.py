"""A read receipt sent as an ordinary email: "Read:" or "Not read:" before the subject,
as Outlook and Exchange write them when the receipt is not a multipart/report."""

from __future__ import annotations

from mailagent.mail.automated.base import AutomatedKind, Hit, Mail, Rule, language_of, wording

_SUBJECT = wording({
    "en": r"read|not read|read receipt",
    "cy": r"wedi'i ddarllen|darllenwyd|heb ei ddarllen",
    "de": r"gelesen|ungelesen|nicht gelesen",
    "fr": r"lu|non lu",
    "es": r"leído|no leído",
    "nl": r"gelezen|niet gelezen",
    "pl": r"przeczytano|przeczytane|nie przeczytano",
    "it": r"letto|non letto",
}, r"^(?:{})\s*:")


def check(mail: Mail) -> Hit | None:
    if found := _SUBJECT.match(mail.subject):
        return Hit(AutomatedKind.READ_RECEIPT,
                   f"the subject of a read receipt ({language_of(found)})")
    return None


RULE = Rule("read_receipt_subject", "a read receipt by its subject (Read:, Not read:)", check)
